//! The pure core: (catalog, project state, request) → a plan of file changes.
//!
//! Nothing here touches the disk; the project's current files come in through
//! [`ProjectFiles`], so the same planner serves an existing project and a new one
//! being built in memory.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Result};

use crate::catalog::{Catalog, Template};
use crate::editors::env_file::EnvFile;
use crate::editors::paxx_toml::{self, PaxxTomlMut, ProjectState};
use crate::editors::pyproject::{DepGroup, PyProjectMut};
use crate::editors::readme;
use crate::hash::content_hash;
use crate::render;
use crate::resolve::{self, enabled_features};

mod generate;
mod rename;
pub use generate::{generate_tree, Answers, Tree};
pub use rename::{check_project_name, plan_rename};

/// Read access to the project as it is now.
pub trait ProjectFiles {
    /// The file's bytes, `None` when it does not exist.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>>;
}

impl ProjectFiles for BTreeMap<String, Vec<u8>> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get(path).cloned())
    }
}

/// One file's change. `before == None` creates, `after == None` deletes.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: String,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Sorted by path, `paxx.toml` last: it is written only once everything else is.
    pub changes: Vec<Change>,
    /// What the user should know (features pulled in, files left alone …).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A generated file the user changed (or a file of theirs in a feature's way).
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub path: String,
    pub reason: &'static str,
}

#[derive(Debug)]
pub struct ConflictError(pub Vec<Conflict>);

impl std::fmt::Display for ConflictError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "these files would lose changes that are not paxx's:")?;
        for c in &self.0 {
            writeln!(f, "  {}: {}", c.path, c.reason)?;
        }
        write!(
            f,
            "nothing was written. Move your changes aside (or commit them) and run again, \
             or pass --force to overwrite these files"
        )
    }
}

impl std::error::Error for ConflictError {}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Add(Vec<String>),
    Remove(Vec<String>),
}

/// The project as the planner sees it.
pub struct Project<'a> {
    pub state: ProjectState,
    pub paxx_toml: String,
    pub files: &'a dyn ProjectFiles,
}

impl<'a> Project<'a> {
    pub fn load(files: &'a dyn ProjectFiles) -> Result<Self> {
        let bytes = files.read(paxx_toml::FILE)?.ok_or_else(|| {
            anyhow!(
                "this is not a paxx project: there is no {}. Create one with \
                 `paxx-compose new <DIR>`, or run from the project's folder (or pass -C <DIR>)",
                paxx_toml::FILE
            )
        })?;
        let text =
            String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text", paxx_toml::FILE))?;
        let state = PaxxTomlMut::parse(&text)?.state()?;
        Ok(Project {
            state,
            paxx_toml: text,
            files,
        })
    }

    fn read_text(&self, path: &str) -> Result<Option<String>> {
        match self.files.read(path)? {
            Some(bytes) => Ok(Some(
                String::from_utf8(bytes).map_err(|_| anyhow!("{path}: not UTF-8 text"))?,
            )),
            None => Ok(None),
        }
    }
}

/// Plans `request` against `project`. Conflicts are an error unless `force`.
pub fn plan_features(
    catalog: &Catalog,
    project: &Project,
    request: &Request,
    force: bool,
) -> Result<Plan> {
    let state = &project.state;
    let template = catalog.template(&state.template)?;
    let mut notes = Vec::new();

    let mut explicit: BTreeSet<String> = state.features.iter().cloned().collect();
    let (old_enabled, _) = enabled_features(catalog, &state.template, &state.features)?;
    match request {
        Request::Add(names) => {
            resolve::check_known(catalog, names)?;
            for name in names {
                if old_enabled.contains(name) && !explicit.contains(name) {
                    notes.push(format!(
                        "{name} was enabled as a requirement; now kept on its own"
                    ));
                } else if explicit.contains(name) {
                    notes.push(format!("{name} is already enabled"));
                }
                explicit.insert(name.clone());
            }
        }
        Request::Remove(names) => {
            resolve::check_known(catalog, names)?;
            for name in names {
                if !old_enabled.contains(name) {
                    notes.push(format!("{name} is not enabled"));
                } else if !explicit.contains(name) {
                    let by = required_by(catalog, &old_enabled, name);
                    bail!(
                        "{name} is required by {}: remove that too, or keep {name}",
                        by.join(", ")
                    );
                }
                explicit.remove(name);
            }
        }
    }
    let explicit: Vec<String> = explicit.into_iter().collect();
    let (new_enabled, pulled_in) = enabled_features(catalog, &state.template, &explicit)?;
    if let Request::Remove(names) = request {
        for name in names {
            if new_enabled.contains(name) {
                let by = required_by(catalog, &new_enabled, name);
                bail!(
                    "{name} is required by {}: remove that too, or keep {name}",
                    by.join(", ")
                );
            }
        }
    }
    if let Request::Add(_) = request {
        for (by, name) in pulled_in {
            if !old_enabled.contains(&name) {
                notes.push(format!("{by} needs {name}: adding it"));
            }
        }
    }

    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut generated = state.generated.clone();

    // Files: only those whose generated content differs between the two feature sets.
    let old_files = render::generated_files(catalog, template, &state.name, &old_enabled)?;
    let new_files = render::generated_files(catalog, template, &state.name, &new_enabled)?;
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
            let reason = match (&baseline, new) {
                (None, _) => "exists, and paxx did not write it",
                (Some(_), Some(_)) => "changed since paxx wrote it; paxx would overwrite it",
                (Some(_), None) => "changed since paxx wrote it; paxx would delete it",
            };
            conflicts.push(Conflict {
                path: path.clone(),
                reason,
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

    let gone: Vec<&String> = old_enabled
        .iter()
        .filter(|f| !new_enabled.contains(f))
        .collect();
    let fresh: Vec<&String> = new_enabled
        .iter()
        .filter(|f| !old_enabled.contains(f))
        .collect();

    // pyproject.toml: entries paxx added come out with the last feature needing them.
    let mut added_runtime = state.added_dependencies.clone();
    let mut added_dev = state.added_dev_dependencies.clone();
    if let Some(text) = project.read_text(PyProjectMut::FILE)? {
        let mut doc = PyProjectMut::parse(&text)?;
        for (group, added) in [
            (DepGroup::Runtime, &mut added_runtime),
            (DepGroup::Dev, &mut added_dev),
        ] {
            let needed = dependencies(catalog, &new_enabled, group);
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
        push_if_changed(&mut changes, PyProjectMut::FILE, &text, doc.render());
    } else if !dependencies(catalog, &new_enabled, DepGroup::Runtime).is_empty() {
        bail!(
            "{}: not found; features add their Python dependencies there",
            PyProjectMut::FILE
        );
    }

    // .env.example: one block per feature, values with the project's ports.
    if let Some(text) = project.read_text(EnvFile::FILE)? {
        let mut env = EnvFile::parse(&text);
        for name in &gone {
            env.remove_block(name);
        }
        for name in &fresh {
            env.add_block(
                name,
                &env_entries(catalog, &state.template, &new_enabled, &state.ports, name)?,
            );
        }
        push_if_changed(&mut changes, EnvFile::FILE, &text, env.render());
    }

    // README: the enabled features' sections between the markers.
    if let Some(readme_path) = &template.manifest.template.readme {
        if let Some(text) = project.read_text(readme_path)? {
            let sections: Vec<&str> = new_enabled
                .iter()
                .filter_map(|n| catalog.modules[n].readme.as_deref())
                .collect();
            match readme::with_sections(&text, &sections) {
                Some(new_text) => push_if_changed(&mut changes, readme_path, &text, new_text),
                None if old_enabled != new_enabled => notes.push(format!(
                    "{readme_path}: the markers `{}` / `{}` are gone; feature sections not updated",
                    readme::START,
                    readme::END
                )),
                None => {}
            }
        }
    }

    changes.sort_by(|a, b| a.path.cmp(&b.path));

    // paxx.toml last.
    let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
    doc.set_features(&explicit);
    doc.set_modules(
        &new_enabled
            .iter()
            .map(|n| (n.clone(), catalog.modules[n].manifest.module.version))
            .collect(),
    );
    generated.retain(|path, _| new_files.contains_key(path));
    doc.set_generated(&generated);
    doc.set_added_dependencies(&added_runtime, &added_dev);
    push_if_changed(
        &mut changes,
        paxx_toml::FILE,
        &project.paxx_toml,
        doc.render(),
    );

    Ok(Plan { changes, notes })
}

/// The features that require `name` among `enabled`.
fn required_by(catalog: &Catalog, enabled: &[String], name: &str) -> Vec<String> {
    enabled
        .iter()
        .filter(|e| {
            catalog.modules[*e]
                .manifest
                .module
                .requires
                .iter()
                .any(|r| r == name)
        })
        .cloned()
        .collect()
}

pub fn dependencies(catalog: &Catalog, enabled: &[String], group: DepGroup) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in enabled {
        let python = &catalog.modules[name].manifest.python;
        let list = match group {
            DepGroup::Runtime => &python.dependencies,
            DepGroup::Dev => &python.dev_dependencies,
        };
        for spec in list {
            if !out.contains(spec) {
                out.push(spec.clone());
            }
        }
    }
    out
}

pub fn env_entries(
    catalog: &Catalog,
    template: &str,
    enabled: &[String],
    ports: &BTreeMap<String, u16>,
    feature: &str,
) -> Result<Vec<(String, String)>> {
    // `.env.example` shows values for a project in the current folder: `{project}` → `.`.
    let resolved = resolve::resolve(catalog, template, enabled, ports, ".")?;
    let port_of = resolved
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.port))
        .collect();
    catalog.modules[feature]
        .manifest
        .env
        .iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                resolve::fill_placeholders(v, None, &port_of, ".")?,
            ))
        })
        .collect()
}

/// Records the hash of what paxx leaves at `path`, except where that is the template's
/// own content: a bare project has no records, so `remove` can restore it byte for byte.
fn record(
    generated: &mut BTreeMap<String, String>,
    template: &Template,
    path: &str,
    content: Option<&[u8]>,
) {
    match content {
        Some(bytes) if template.files.get(path).map(Vec::as_slice) != Some(bytes) => {
            generated.insert(path.to_string(), content_hash(bytes));
        }
        _ => {
            generated.remove(path);
        }
    }
}

fn push_if_changed(changes: &mut Vec<Change>, path: &str, before: &str, after: String) {
    if before != after {
        changes.push(Change {
            path: path.to_string(),
            before: Some(before.as_bytes().to_vec()),
            after: Some(after.into_bytes()),
        });
    }
}

#[cfg(test)]
mod tests;
