//! A whole project generated in memory from a catalog and the user's answers. `new` writes
//! it; `upgrade` generates it twice, with the project's old catalog (the merge's base) and
//! with the current one (theirs), so both come from exactly the same planner.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{plan_features, plan_rename, Plan, Project, Request};
use crate::catalog::Catalog;
use crate::editors::paxx_toml::{self, PaxxTomlMut};

/// Project-relative path → bytes.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// What a project is generated from, besides the catalog (as `paxx.toml` records it).
#[derive(Debug, Clone, Copy)]
pub struct Answers<'a> {
    pub template: &'a str,
    pub name: &'a str,
    /// The features asked for; their requirements come with them.
    pub features: &'a [String],
    /// `[ports]` overrides: they show in `.env.example` values.
    pub ports: &'a BTreeMap<String, u16>,
}

/// The project `catalog` generates for `answers`, and the planner's notes ("tasks needs
/// redis: adding it"). The template's files, named, stamped with the catalog's version,
/// then the features added, as `new` then `add` would do.
pub fn generate_tree(catalog: &Catalog, answers: &Answers) -> Result<(Tree, Vec<String>)> {
    let template = catalog.template(answers.template)?;
    let mut tree: Tree = template.files.clone();
    let renamed = plan_rename(&Project::load(&tree)?, template, answers.name)?;
    apply_in_memory(&mut tree, &renamed);
    stamp_version(&mut tree, &catalog.version)?;
    let mut notes = Vec::new();
    if !answers.features.is_empty() {
        let mut project = Project::load(&tree)?;
        project.state.ports = answers.ports.clone();
        let plan = plan_features(
            catalog,
            &project,
            &Request::Add(answers.features.to_vec()),
            false,
        )?;
        notes = plan.notes.clone();
        apply_in_memory(&mut tree, &plan);
    }
    Ok((tree, notes))
}

/// `paxx-version` is the catalog's: `upgrade` finds the project's base by it. The template's
/// own `paxx.toml` already says so (a bare project stays the template's bytes), so this
/// changes nothing unless the two disagree.
fn stamp_version(tree: &mut Tree, version: &str) -> Result<()> {
    let Some(bytes) = tree.get(paxx_toml::FILE) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut doc = PaxxTomlMut::parse(&text)?;
    if doc.state()?.paxx_version != version {
        doc.set_paxx_version(version);
        tree.insert(paxx_toml::FILE.to_string(), doc.render().into_bytes());
    }
    Ok(())
}

fn apply_in_memory(tree: &mut Tree, plan: &Plan) {
    for change in &plan.changes {
        match &change.after {
            Some(bytes) => tree.insert(change.path.clone(), bytes.clone()),
            None => tree.remove(&change.path),
        };
    }
}
