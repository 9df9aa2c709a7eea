//! Writing a plan to disk: every check first, then all files or none.
//!
//! Phase 1 writes each new content to a temporary file beside its target and checks
//! every target can be replaced; a failure there leaves the tree untouched. Phase 2
//! renames into place, keeping the replaced files aside; a failure there puts every
//! original back. Only then are the set-aside originals dropped.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::paths::parents;
use crate::plan::Change;

/// Environment variable that makes apply fail after N renames: a fault injected by the
/// tests to prove that a failure midway leaves the tree as it was.
pub const FAULT_ENV: &str = "PAXX_TEST_FAIL_AFTER_RENAMES";

struct Staged {
    target: PathBuf,
    temp: Option<PathBuf>,
    backup: Option<PathBuf>,
    existed: bool,
}

/// Applies `changes` under `root`, all or nothing.
pub fn apply(root: &Path, changes: &[Change]) -> Result<()> {
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let mut staged: Vec<Staged> = Vec::new();
    let result =
        stage(root, changes, &mut created_dirs, &mut staged).and_then(|()| commit(&mut staged));
    match result {
        Ok(()) => {
            for s in &staged {
                if let Some(b) = &s.backup {
                    let _ = fs::remove_file(b);
                }
            }
            remove_emptied_dirs(root, changes);
            Ok(())
        }
        Err(err) => {
            roll_back(&staged);
            for dir in created_dirs.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
            Err(err.context("nothing was changed"))
        }
    }
}

fn temp_name(target: &Path, kind: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.paxx-{kind}-{}", std::process::id()))
}

fn stage(
    root: &Path,
    changes: &[Change],
    created_dirs: &mut Vec<PathBuf>,
    staged: &mut Vec<Staged>,
) -> Result<()> {
    for change in changes {
        let target = root.join(&change.path);
        let existed = target.exists();
        if existed && !target.is_file() {
            bail!(
                "`{}` is not a regular file; move it away and run again",
                change.path
            );
        }
        let mut entry = Staged {
            target: target.clone(),
            temp: None,
            backup: None,
            existed,
        };
        if let Some(bytes) = &change.after {
            let mut missing: Vec<&str> = parents(&change.path)
                .filter(|d| !root.join(d).exists())
                .collect();
            missing.reverse();
            for dir in missing {
                let full = root.join(dir);
                fs::create_dir(&full)
                    .with_context(|| format!("cannot create folder `{}`", full.display()))?;
                created_dirs.push(full);
            }
            let temp = temp_name(&target, "new");
            write_new(&temp, bytes)
                .with_context(|| format!("cannot write beside `{}`", target.display()))?;
            if existed {
                copy_permissions(&target, &temp)?;
            }
            entry.temp = Some(temp);
        } else if existed {
            // Deleting needs write access to the folder; prove it now, not halfway.
            let probe = temp_name(&target, "probe");
            write_new(&probe, b"").with_context(|| {
                format!(
                    "cannot delete `{}`: its folder is not writable",
                    target.display()
                )
            })?;
            let _ = fs::remove_file(&probe);
        }
        staged.push(entry);
    }
    Ok(())
}

/// Writes a new project (`changes`, all creations) into a fresh folder beside `target`, then renames it into
/// place: a failure leaves no half-made project behind.
pub fn write_project(
    target: &Path,
    changes: &[Change],
    also: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let leaf = target
        .file_name()
        .context("the new project's folder needs a name")?;
    let staging: PathBuf = parent.join(format!(
        ".{}.paxx-new-{}",
        leaf.to_string_lossy(),
        std::process::id()
    ));
    // `new a/b` with no `a/` yet makes `a/`, as `mkdir -p` would; a failure takes it away.
    let missing: Vec<PathBuf> = parent
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    let result = (|| -> Result<()> {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder `{}`", parent.display()))?;
        fs::create_dir(&staging)
            .with_context(|| format!("cannot create a folder in `{}`", parent.display()))?;
        write_fresh(&staging, changes)?;
        also(&staging)?;
        if target.exists() {
            fs::remove_dir(target)
                .with_context(|| format!("cannot replace `{}`", target.display()))?;
        }
        fs::rename(&staging, target)
            .with_context(|| format!("cannot create `{}`", target.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
        for dir in &missing {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// Writes `changes` (all creations) into `root`, a folder nobody sees yet: `new` stages a
/// whole project this way and renames the folder into place, which is the atomic step.
/// No temp file per file and no fsync: a crash leaves only an unseen staging folder.
pub fn write_fresh(root: &Path, changes: &[Change]) -> Result<()> {
    let mut made = std::collections::BTreeSet::new();
    for change in changes {
        let Some(bytes) = &change.after else { continue };
        if let Some(dir) = parents(&change.path).next() {
            if made.insert(dir.to_string()) {
                let full = root.join(dir);
                fs::create_dir_all(&full)
                    .with_context(|| format!("cannot create folder `{}`", full.display()))?;
            }
        }
        let target = root.join(&change.path);
        fs::write(&target, bytes)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn copy_permissions(from: &Path, to: &Path) -> Result<()> {
    let perms = fs::metadata(from)
        .with_context(|| format!("cannot stat `{}`", from.display()))?
        .permissions();
    fs::set_permissions(to, perms)
        .with_context(|| format!("cannot set permissions on `{}`", to.display()))
}

fn commit(staged: &mut [Staged]) -> Result<()> {
    let fail_after: Option<usize> = std::env::var(FAULT_ENV).ok().and_then(|v| v.parse().ok());
    for (done, s) in staged.iter_mut().enumerate() {
        if fail_after == Some(done) {
            bail!("injected failure after {done} renames ({FAULT_ENV})");
        }
        if s.existed {
            let backup = temp_name(&s.target, "old");
            fs::hard_link(&s.target, &backup)
                .or_else(|_| fs::copy(&s.target, &backup).map(|_| ()))
                .with_context(|| format!("cannot keep a copy of `{}`", s.target.display()))?;
            s.backup = Some(backup);
        }
        match &s.temp {
            Some(temp) => fs::rename(temp, &s.target)
                .with_context(|| format!("cannot replace `{}`", s.target.display()))?,
            None if s.existed => fs::remove_file(&s.target)
                .with_context(|| format!("cannot delete `{}`", s.target.display()))?,
            None => {}
        }
        s.temp = None;
    }
    Ok(())
}

fn roll_back(staged: &[Staged]) {
    for s in staged.iter().rev() {
        if let Some(temp) = &s.temp {
            // Never renamed: the target is untouched.
            let _ = fs::remove_file(temp);
            if let Some(backup) = &s.backup {
                let _ = fs::remove_file(backup);
            }
            continue;
        }
        match &s.backup {
            Some(backup) => {
                let _ = fs::rename(backup, &s.target);
            }
            None if !s.existed => {
                let _ = fs::remove_file(&s.target);
            }
            None => {}
        }
    }
}

/// Folders left empty by deletions go too, so that `remove` restores the tree exactly.
fn remove_emptied_dirs(root: &Path, changes: &[Change]) {
    for change in changes.iter().filter(|c| c.after.is_none()) {
        for dir in parents(&change.path) {
            if fs::remove_dir(root.join(dir)).is_err() {
                break; // not empty (or not ours to remove)
            }
        }
    }
}
