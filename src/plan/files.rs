//! The generated files of a change of features: only paths whose generated content differs
//! between the old and the new feature set are touched, each checked against what paxx
//! recorded writing (or the template's own bytes).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::{record, Change, Conflict, ConflictError, Project};
use crate::catalog::Template;
use crate::hash::content_hash;

pub type Files = BTreeMap<String, Vec<u8>>;

pub struct FileChanges {
    pub changes: Vec<Change>,
    /// `paxx.toml` `[generated]` after the change (before dropping paths no longer generated).
    pub generated: BTreeMap<String, String>,
}

pub fn file_changes(
    template: &Template,
    project: &Project,
    (old_files, new_files): (&Files, &Files),
    force: bool,
    notes: &mut Vec<String>,
) -> Result<FileChanges> {
    let state = &project.state;
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut generated = state.generated.clone();
    let paths: BTreeSet<&String> = old_files.keys().chain(new_files.keys()).collect();
    for path in paths {
        let (old, new) = (old_files.get(path), new_files.get(path));
        if old == new {
            continue;
        }
        let current = project.files.read(path)?;
        let baseline = state
            .generated
            .get(path)
            .cloned()
            .or_else(|| template.files.get(path).map(|b| content_hash(b)));
        let users = match (&current, &baseline) {
            (Some(now), Some(base)) => content_hash(now) != *base,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if current.is_none() && old.is_some() && baseline.is_some() && new.is_some() {
            notes.push(format!(
                "{path}: you deleted this generated file; leaving it deleted"
            ));
            continue;
        }
        if current.as_ref() == new {
            record(&mut generated, template, path, new.map(Vec::as_slice));
            continue;
        }
        if current.is_none() && new.is_none() {
            generated.remove(path);
            continue;
        }
        if users {
            conflicts.push(Conflict {
                path: path.clone(),
                reason: match (&baseline, new) {
                    (None, _) => "exists, and paxx did not write it",
                    (Some(_), Some(_)) => "changed since paxx wrote it; paxx would overwrite it",
                    (Some(_), None) => "changed since paxx wrote it; paxx would delete it",
                },
            });
            if !force {
                continue;
            }
        }
        record(&mut generated, template, path, new.map(Vec::as_slice));
        changes.push(Change {
            path: path.clone(),
            before: current,
            after: new.cloned(),
        });
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(ConflictError(conflicts).into());
        }
        for c in &conflicts {
            notes.push(format!("{}: overwriting your changes (--force)", c.path));
        }
    }
    Ok(FileChanges { changes, generated })
}
