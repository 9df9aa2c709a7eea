//! What `upgrade` says about each file, and which conflicts are still open.

use std::fmt;

use anyhow::{bail, Result};

use super::merge;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// You had not changed it: replaced by the new version.
    Updated,
    /// You changed it and upstream did not.
    KeptChanged,
    /// Both changed it; the changes did not overlap.
    Merged,
    /// Both changed the same lines: written with conflict markers.
    Conflict,
    Added,
    /// Gone upstream and unchanged by you.
    Removed,
    /// You deleted it: it stays deleted.
    KeptDeleted,
    KeptGoneChanged,
    /// Changed on both sides but not text: yours kept, upstream's not applied.
    KeptBinary,
    /// paxx's entries re-planned from the manifests, the rest merged.
    Replanned,
    /// Your own settings file, with settings a migration renamed.
    SettingsRenamed,
    /// Moved by a module migration (to this path).
    Renamed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Updated => "updated",
            Outcome::KeptChanged => "kept (you changed it, upstream did not)",
            Outcome::Merged => "merged",
            Outcome::Conflict => "CONFLICT",
            Outcome::Added => "added",
            Outcome::Removed => "removed",
            Outcome::KeptDeleted => "kept (deleted by you)",
            Outcome::KeptGoneChanged => "kept (gone upstream, but you changed it)",
            Outcome::KeptBinary => "kept (binary, changed on both sides: upstream's not applied)",
            Outcome::Replanned => "re-planned",
            Outcome::SettingsRenamed => "settings renamed (migration)",
            Outcome::Renamed(_) => "renamed",
        })
    }
}

impl Outcome {
    /// The file stays as it is.
    pub fn keeps(&self) -> bool {
        matches!(
            self,
            Outcome::KeptChanged
                | Outcome::KeptDeleted
                | Outcome::KeptGoneChanged
                | Outcome::KeptBinary
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub path: String,
    pub outcome: Outcome,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Renamed(to) => write!(f, "renamed {} → {to} (migration)", self.path),
            outcome => write!(f, "{outcome}: {}", self.path),
        }
    }
}

/// The conflicts the last upgrade recorded, split into those whose file still holds
/// conflict markers and those the user resolved (or deleted).
pub fn open_conflicts(
    recorded: &[String],
    files: &dyn crate::plan::ProjectFiles,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut open, mut resolved) = (Vec::new(), Vec::new());
    for path in recorded {
        match files.read(path)? {
            Some(bytes) if merge::has_markers(&String::from_utf8_lossy(&bytes)) => {
                open.push(path.clone());
            }
            _ => resolved.push(path.clone()),
        }
    }
    Ok((open, resolved))
}

/// While the last upgrade's conflict markers are there, the upgrade is not finished:
/// `upgrade`, `add` and `remove` all wait for them (no flag overrides this), so that no
/// plan is made on top of a half-merged project.
pub fn refuse_open(open: &[String]) -> Result<()> {
    if open.is_empty() {
        return Ok(());
    }
    bail!(
        "the last upgrade left conflict markers in {}: resolve them first (edit each file, \
         keep what you want, delete the <<<<<<< ||||||| ======= >>>>>>> lines; \
         `paxx-compose status` lists them), then run this again",
        quoted(open)
    )
}

/// `a`, `b`: paths as messages show them.
pub fn quoted(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
