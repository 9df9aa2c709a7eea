//! Module migrations: files and settings a module renamed since the project's recorded
//! version of it, applied in order before merging so that the user's edits follow them.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::catalog::Catalog;
use crate::editors::paxx_toml::ProjectState;
use crate::plan::{ProjectFiles, Tree};

#[derive(Debug, Default, PartialEq)]
pub struct Steps {
    /// (module, old path, new path), in the order to apply them.
    pub renames: Vec<(String, String, String)>,
    /// old key → new key, in order.
    pub env_renames: Vec<(String, String)>,
}

/// The steps for `modules` (enabled before and after): each module's migrations newer than
/// the version `paxx.toml` records for it, oldest first.
pub fn steps(old: &Catalog, new: &Catalog, state: &ProjectState, modules: &[String]) -> Steps {
    let mut out = Steps::default();
    for name in modules {
        let recorded = state
            .modules
            .get(name)
            .copied()
            .or_else(|| old.modules.get(name).map(|m| m.manifest.module.version))
            .unwrap_or(0);
        let mut migrations: Vec<_> = new.modules[name]
            .manifest
            .migrations
            .iter()
            .filter(|m| m.version > recorded)
            .collect();
        migrations.sort_by_key(|m| m.version);
        for m in migrations {
            for (from, to) in &m.rename {
                out.renames.push((name.clone(), from.clone(), to.clone()));
            }
            for (from, to) in &m.env_rename {
                out.env_renames.push((from.clone(), to.clone()));
            }
        }
    }
    out
}

/// The user's files as the merge sees them: the project on disk, with renamed files
/// moved (an entry of `None` is a file moved away).
pub struct Ours<'a> {
    pub disk: &'a dyn ProjectFiles,
    pub moved: BTreeMap<String, Option<Vec<u8>>>,
}

impl Ours<'_> {
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.moved.get(path) {
            Some(content) => Ok(content.clone()),
            None => self.disk.read(path),
        }
    }
}

/// Applies the renames to the base (what paxx generated then) and to the user's files.
/// Returns the renames that moved a file of the user's, for the report. A rename onto a
/// file that exists already is refused: nothing has been written yet.
pub fn apply_renames(
    steps: &Steps,
    base: &mut Tree,
    ours: &mut Ours,
) -> Result<Vec<(String, String)>> {
    let mut moved = Vec::new();
    for (module, from, to) in &steps.renames {
        if let Some(bytes) = base.remove(from) {
            base.insert(to.clone(), bytes);
        }
        let Some(content) = ours.read(from)? else {
            continue; // the user deleted it: it stays deleted, under its new name too
        };
        if ours.read(to)?.is_some() {
            bail!(
                "module `{module}` now keeps `{from}` as `{to}`, but `{to}` exists already. \
                 Move one of them away and run again; nothing was written"
            );
        }
        ours.moved.insert(from.clone(), None);
        ours.moved.insert(to.clone(), Some(content));
        moved.push((from.clone(), to.clone()));
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_move_base_and_the_users_file_in_order() {
        let steps = Steps {
            renames: vec![
                ("m".into(), "a.py".into(), "b.py".into()),
                ("m".into(), "b.py".into(), "c.py".into()),
            ],
            env_renames: vec![],
        };
        let disk: Tree = [("a.py".to_string(), b"mine".to_vec())].into();
        let mut base: Tree = [("a.py".to_string(), b"paxx".to_vec())].into();
        let mut ours = Ours {
            disk: &disk,
            moved: BTreeMap::new(),
        };
        let moved = apply_renames(&steps, &mut base, &mut ours).unwrap();
        assert_eq!(moved.len(), 2);
        assert_eq!(base.keys().collect::<Vec<_>>(), vec!["c.py"]);
        assert_eq!(ours.read("c.py").unwrap(), Some(b"mine".to_vec()));
        assert_eq!(ours.read("a.py").unwrap(), None);
    }

    #[test]
    fn a_rename_onto_an_existing_file_is_refused() {
        let steps = Steps {
            renames: vec![("m".into(), "a.py".into(), "b.py".into())],
            env_renames: vec![],
        };
        let disk: Tree = [
            ("a.py".to_string(), b"x".to_vec()),
            ("b.py".to_string(), b"y".to_vec()),
        ]
        .into();
        let mut ours = Ours {
            disk: &disk,
            moved: BTreeMap::new(),
        };
        let err = apply_renames(&steps, &mut Tree::new(), &mut ours).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");
    }
}
