//! The project on disk, below every command: finding its folder, reading its files, the
//! catalog it was made with, and which of paxx's files the user changed. Commands,
//! services and `upgrade` all start here; nothing here prints or knows about clap.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::catalog::Catalog;
use crate::editors::paxx_toml;
use crate::plan::{self, check_project_name, Drift, Project, ProjectFiles};

/// The project folder: `start` or the nearest folder above it holding paxx.toml.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(paxx_toml::FILE).is_file())
        .map(Path::to_path_buf)
}

/// The project folder, or the error every command gives outside one.
pub fn root(start: &Path) -> Result<PathBuf> {
    find(start).ok_or_else(|| {
        anyhow::anyhow!(
            "this is not a paxx project: no {} in `{}` or above it. Create one with \
             `paxx-compose new <DIR>` (or `nix flake init -t github:paxx-dev/paxx#fastapi` \
             then `paxx-compose init`), or pass -C <DIR>",
            paxx_toml::FILE,
            start.display()
        )
    })
}

/// A project's files as they are on disk.
pub struct Disk {
    pub root: PathBuf,
}

pub fn disk(root: &Path) -> Disk {
    Disk {
        root: root.to_path_buf(),
    }
}

impl ProjectFiles for Disk {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let full = self.root.join(path);
        match fs::read(&full) {
            Ok(bytes) => Ok(Some(bytes)),
            // A file where a parent folder should be: the path cannot exist; writing it
            // later fails with a message naming that folder.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok(None)
            }
            Err(e) if full.is_dir() => Err(e).with_context(|| {
                format!("`{path}` is a folder where paxx expects a file; move it away")
            }),
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", full.display())),
        }
    }
}

/// A project name from a folder's name (`shop_api/` → `shop_api`).
pub fn name_from_dir(dir: &Path) -> Result<String> {
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()?.join(dir)
    };
    let leaf = absolute
        .components()
        .rev()
        .find_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_default();
    check_project_name(&leaf)
        .with_context(|| "the folder's name cannot be the project's name; pass --name")?;
    Ok(leaf)
}

/// The catalog this paxx-compose carries (with `PAXX_MODULES` on top).
pub fn load_catalog() -> Result<Catalog> {
    Catalog::load().context("cannot load the catalog of templates and modules")
}

/// The catalog of an older paxx `version`, from the history (with `PAXX_MODULES` on
/// top, as for the current one); `None` when the history does not know it.
pub fn catalog_at(version: &str) -> Result<Option<Catalog>> {
    let Some(files) = crate::catalog::history::find(version)? else {
        return Ok(None);
    };
    let extra = crate::catalog::extra_modules_dir();
    Catalog::parse(&files, extra.as_deref())
        .map(Some)
        .with_context(|| format!("cannot load the paxx {version} catalog from the history"))
}

/// Where a project's paxx version stands against this paxx-compose's catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    Current,
    /// Older (or not comparable): its catalog may be in the history.
    Older,
    /// Newer: only a newer paxx-compose can work with it.
    Newer,
}

pub fn standing(recorded: &str, current: &str) -> Standing {
    use std::cmp::Ordering;
    if recorded == current {
        return Standing::Current;
    }
    match crate::catalog::source::compare_versions(recorded, current) {
        Some(Ordering::Greater) => Standing::Newer,
        _ => Standing::Older,
    }
}

/// What to do with a project newer than this paxx-compose: not `upgrade`, which only goes
/// forward, but a newer paxx-compose.
pub fn newer_project(recorded: &str, current: &str) -> String {
    format!(
        "this project is at paxx {recorded}, newer than this paxx-compose ({current}): use \
         paxx-compose {recorded} or newer (in the project, `nix develop` puts the one its \
         flake.lock pins on PATH; or install a newer paxx-compose)"
    )
}

/// The catalog `add` and `remove` work with: the one of the project's own version, so that
/// its files all come from one catalog and `upgrade` later has a true base to merge from.
/// That is the current catalog, or for a project not yet upgraded, its version's from the
/// history, with a note that says so and the way forward.
pub fn catalog_for(current: Catalog, project: &Project) -> Result<(Catalog, Option<String>)> {
    let recorded = &project.state.paxx_version;
    match standing(recorded, &current.version) {
        Standing::Current => return Ok((current, None)),
        Standing::Newer => anyhow::bail!("{}", newer_project(recorded, &current.version)),
        Standing::Older => {}
    }
    match catalog_at(recorded)? {
        Some(own) => Ok((
            own,
            Some(format!(
                "note: this project is at paxx {recorded}: using that version's modules; \
                 `paxx-compose upgrade` brings it to {}",
                current.version
            )),
        )),
        None => anyhow::bail!(
            "this project is at paxx {recorded} and this paxx-compose carries paxx {}: run \
             `paxx-compose upgrade` first (it keeps your edits), then run this again",
            current.version
        ),
    }
}

/// Runs `f` with the catalog of paxx `version`: the current one, or an older one from the
/// history; `None` when this paxx-compose does not know it. (A history that does not load
/// only costs what `f` computes: the caller still answers.)
pub fn with_own_catalog<T>(
    current: &Catalog,
    version: &str,
    f: impl FnOnce(&Catalog) -> Result<T>,
) -> Result<Option<T>> {
    match standing(version, &current.version) {
        Standing::Current => f(current).map(Some),
        Standing::Newer => Ok(None),
        Standing::Older => match catalog_at(version).unwrap_or(None) {
            Some(own) => f(&own).map(Some),
            None => Ok(None),
        },
    }
}

/// Generated files the user changed or deleted, measured against what paxx generated: the
/// catalog of the project's own version (`status` and `doctor` both say this). `None` when
/// this paxx-compose does not know that version: another catalog's files would all look
/// changed.
pub fn drift(current: &Catalog, project: &Project) -> Result<Option<Drift>> {
    with_own_catalog(current, &project.state.paxx_version, |own| {
        plan::drift(own, project)
    })
}
