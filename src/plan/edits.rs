//! The structured edits of a change of features, one per file format: `pyproject.toml`
//! dependencies, `.env.example` blocks, the README's feature sections.

use anyhow::{bail, Result};

use super::{dependencies, env_blocks, push_if_changed, Change, Project};
use crate::catalog::{Catalog, Template};
use crate::editors::env_file::EnvFile;
use crate::editors::pyproject::{DepGroup, PyProjectMut};
use crate::editors::readme;

/// `pyproject.toml`: entries paxx added come out with the last feature needing them.
/// Returns the entries paxx added, runtime then dev, to record in `paxx.toml`.
pub fn pyproject(
    catalog: &Catalog,
    project: &Project,
    new_enabled: &[String],
    changes: &mut Vec<Change>,
) -> Result<[Vec<String>; 2]> {
    let state = &project.state;
    let mut added = [
        state.added_dependencies.clone(),
        state.added_dev_dependencies.clone(),
    ];
    let Some(text) = project.read_text(PyProjectMut::FILE)? else {
        if !dependencies(catalog, new_enabled, DepGroup::Runtime).is_empty() {
            bail!(
                "{}: not found; features add their Python dependencies there",
                PyProjectMut::FILE
            );
        }
        return Ok(added);
    };
    let mut doc = PyProjectMut::parse(&text)?;
    for (group, added) in [DepGroup::Runtime, DepGroup::Dev]
        .into_iter()
        .zip(&mut added)
    {
        let needed = dependencies(catalog, new_enabled, group);
        for spec in added.clone() {
            if !needed.contains(&spec) {
                doc.remove_dependency(group, &spec)?;
                added.retain(|s| s != &spec);
            }
        }
        for spec in needed {
            if !added.contains(&spec) && !doc.has_package(group, &spec) {
                doc.add_dependency(group, &spec)?;
                added.push(spec);
            }
        }
    }
    push_if_changed(changes, PyProjectMut::FILE, &text, doc.render());
    Ok(added)
}

/// `.env.example`: one block per feature, values with the project's ports.
pub fn env_example(
    catalog: &Catalog,
    project: &Project,
    (old_enabled, new_enabled): (&[String], &[String]),
    changes: &mut Vec<Change>,
) -> Result<()> {
    let state = &project.state;
    let Some(text) = project.read_text(EnvFile::FILE)? else {
        return Ok(());
    };
    let mut env = EnvFile::parse(&text);
    for name in old_enabled.iter().filter(|f| !new_enabled.contains(f)) {
        env.remove_block(name);
    }
    let blocks = env_blocks(catalog, &state.template, new_enabled, &state.ports)?;
    for name in new_enabled.iter().filter(|f| !old_enabled.contains(f)) {
        env.add_block(name, &blocks[name]);
    }
    push_if_changed(changes, EnvFile::FILE, &text, env.render());
    Ok(())
}

/// The README: the enabled features' sections between the markers.
pub fn readme(
    catalog: &Catalog,
    template: &Template,
    project: &Project,
    (old_enabled, new_enabled): (&[String], &[String]),
    (changes, notes): (&mut Vec<Change>, &mut Vec<String>),
) -> Result<()> {
    let Some(readme_path) = &template.manifest.template.readme else {
        return Ok(());
    };
    let Some(text) = project.read_text(readme_path)? else {
        return Ok(());
    };
    let sections: Vec<&str> = new_enabled
        .iter()
        .filter_map(|n| catalog.modules[n].readme.as_deref())
        .collect();
    match readme::with_sections(&text, &sections) {
        Some(new_text) => push_if_changed(changes, readme_path, &text, new_text),
        None if old_enabled != new_enabled => notes.push(format!(
            "{readme_path}: the markers `{}` / `{}` are gone; feature sections not updated",
            readme::START,
            readme::END
        )),
        None => {}
    }
    Ok(())
}
