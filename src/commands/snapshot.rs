//! `snapshot-catalog` (hidden, for releases): stores a catalog in the catalog history.

use std::path::Path;

use anyhow::{Context, Result};

use crate::catalog::{history, Catalog, CatalogFiles};
use crate::printer::{note, ExitStatus};
use crate::request::Snapshot;

pub fn run(cwd: &Path, args: Snapshot) -> Result<ExitStatus> {
    let mut files = match &args.from {
        Some(dir) => {
            let dir = cwd.join(dir);
            let version = match &args.as_version {
                Some(v) => Some(v.clone()),
                None => crate_version(&dir)?,
            };
            CatalogFiles::from_dir(&dir, version.as_deref())?
        }
        None => CatalogFiles::current()?,
    };
    if let Some(version) = &args.as_version {
        files.version = version.clone();
    }
    // Only a catalog that loads is worth keeping: projects will be regenerated from it.
    Catalog::parse(&files, None)
        .with_context(|| format!("the catalog to snapshot ({}) does not load", files.version))?;
    let out = cwd.join(&args.out);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create `{}`", out.display()))?;
    let done = history::snapshot(&files, &out)?;
    if done.unchanged {
        note!(
            "catalog {} is in `{}` already, unchanged",
            files.version,
            args.out.display()
        );
    } else {
        note!(
            "stored catalog {} in `{}`: {} files, {} new blobs ({} bytes); the other files \
             are shared with earlier versions",
            files.version,
            args.out.display(),
            done.files,
            done.new_blobs,
            done.new_bytes
        );
    }
    Ok(ExitStatus::Success)
}

/// A checkout of paxx (a release tag in a `git worktree`) has no `catalog.toml`: its
/// catalog's version is its crate's, as the binary built from it would say.
fn crate_version(dir: &Path) -> Result<Option<String>> {
    let manifest = dir.join("Cargo.toml");
    if dir.join("catalog.toml").exists() || !manifest.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read `{}`", manifest.display()))?;
    let value: toml::Value = toml::from_str(&text)
        .with_context(|| format!("`{}` is not valid TOML", manifest.display()))?;
    Ok(value
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .map(str::to_string))
}
