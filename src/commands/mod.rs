//! One file per command; this one holds what they share: finding the project, and
//! showing or applying a plan.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::apply::{self, DiskProject};
use crate::catalog::Catalog;
use crate::cli::{Cli, Command};
use crate::diff;
use crate::editors::paxx_toml;
use crate::plan::Plan;

mod change;
mod completions;
mod doctor;
mod down;
mod env;
mod init;
mod list;
mod man;
mod new;
mod show;
mod snapshot;
mod status;
mod up;
mod upgrade;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let cwd = match &cli.chdir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    if !cwd.is_dir() {
        anyhow::bail!("`{}` is not a folder", cwd.display());
    }
    match cli.command {
        Command::New(args) => new::run(&cwd, args),
        Command::Init(args) => init::run(&cwd, args),
        Command::Add(args) => change::run(&cwd, args, true),
        Command::Remove(args) => change::run(&cwd, args, false),
        Command::List(args) => list::run(&cwd, args),
        Command::Show(args) => show::run(args),
        Command::Status(args) => status::run(&cwd, args),
        Command::Up(args) => up::run(&cwd, args),
        Command::Down(args) => down::run(&cwd, args),
        Command::Env(args) => env::run(&cwd, args),
        Command::Doctor(args) => doctor::run(&cwd, args),
        Command::Upgrade(args) => upgrade::run(&cwd, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(&cwd, args),
        Command::SnapshotCatalog(args) => snapshot::run(&cwd, args),
    }
}

/// The project folder: `start` or the nearest folder above it holding paxx.toml.
pub fn find_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(paxx_toml::FILE).is_file())
        .map(Path::to_path_buf)
}

/// The project folder, or the error every command gives outside one.
pub fn project_root(start: &Path) -> Result<PathBuf> {
    find_project(start).ok_or_else(|| {
        anyhow::anyhow!(
            "this is not a paxx project: no {} in `{}` or above it. Create one with \
             `paxx-compose new <DIR>` (or `nix flake init -t github:paxx-dev/paxx#fastapi` \
             then `paxx-compose init`), or pass -C <DIR>",
            paxx_toml::FILE,
            start.display()
        )
    })
}

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
/// history (said, with the way forward).
pub fn catalog_for(current: Catalog, project: &crate::plan::Project) -> Result<Catalog> {
    let recorded = &project.state.paxx_version;
    match standing(recorded, &current.version) {
        Standing::Current => return Ok(current),
        Standing::Newer => anyhow::bail!("{}", newer_project(recorded, &current.version)),
        Standing::Older => {}
    }
    match catalog_at(recorded)? {
        Some(own) => {
            eprintln!(
                "note: this project is at paxx {recorded}: using that version's modules; \
                 `paxx-compose upgrade` brings it to {}",
                current.version
            );
            Ok(own)
        }
        None => anyhow::bail!(
            "this project is at paxx {recorded} and this paxx-compose carries paxx {}: run \
             `paxx-compose upgrade` first (it keeps your edits), then run this again",
            current.version
        ),
    }
}

pub fn disk(root: &Path) -> DiskProject {
    DiskProject {
        root: root.to_path_buf(),
    }
}

/// Prints the plan's notes; with `dry_run` prints its diff, otherwise applies it.
pub fn finish(root: &Path, plan: &Plan, dry_run: bool, done: &str) -> Result<()> {
    for note in &plan.notes {
        eprintln!("{note}");
    }
    if plan.is_empty() {
        eprintln!("nothing to change");
        return Ok(());
    }
    if dry_run {
        for change in &plan.changes {
            print!("{}", diff::unified(change));
        }
        eprintln!(
            "dry run: {} file(s) would change; nothing was written",
            plan.changes.len()
        );
        return Ok(());
    }
    apply::apply(root, &plan.changes)?;
    eprintln!("{done}");
    for change in &plan.changes {
        let verb = match (&change.before, &change.after) {
            (None, Some(_)) => "created",
            (Some(_), None) => "deleted",
            _ => "updated",
        };
        eprintln!("  {verb} {}", change.path);
    }
    Ok(())
}
