//! The pure core: (catalog, project state, request) → a plan of file changes.
//!
//! Nothing here touches the disk; the project's current files come in through
//! [`ProjectFiles`], so the same planner serves an existing project and a new one
//! being built in memory.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};

use crate::catalog::{Catalog, Template};
use crate::editors::paxx_toml::{self, PaxxTomlMut, ProjectState};
use crate::editors::pyproject::DepGroup;
use crate::hash::content_hash;
use crate::render;
use crate::resolve;

mod drift;
mod edits;
mod files;
mod generate;
mod rename;
mod request;
pub use drift::{drift, Drift};
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
    let request::FeatureSets {
        explicit,
        old_enabled,
        new_enabled,
        mut notes,
    } = request::feature_sets(catalog, state, request)?;

    let old_files = render::generated_files(catalog, template, &state.name, &old_enabled)?;
    let new_files = render::generated_files(catalog, template, &state.name, &new_enabled)?;
    let files::FileChanges {
        mut changes,
        mut generated,
    } = files::file_changes(
        template,
        project,
        (&old_files, &new_files),
        force,
        &mut notes,
    )?;
    let added = edits::pyproject(catalog, project, &new_enabled, &mut changes)?;
    let sets = (old_enabled.as_slice(), new_enabled.as_slice());
    edits::env_example(catalog, project, sets, &mut changes)?;
    edits::readme(catalog, template, project, sets, (&mut changes, &mut notes))?;

    changes.sort_by(|a, b| a.path.cmp(&b.path));

    // paxx.toml last.
    let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
    doc.set_features(&explicit);
    generated.retain(|path, _| new_files.contains_key(path));
    record_generation(&mut doc, catalog, &new_enabled, &generated, &added);
    push_if_changed(
        &mut changes,
        paxx_toml::FILE,
        &project.paxx_toml,
        doc.render(),
    );

    Ok(Plan { changes, notes })
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

/// A feature's settings block in `.env.example`: its entries, in order.
pub type EnvBlocks = BTreeMap<String, Vec<(String, String)>>;

/// Each enabled feature's `.env.example` entries, with the project's ports. Values are
/// for a project in the current folder: `{project}` is `.`.
pub fn env_blocks(
    catalog: &Catalog,
    template: &str,
    enabled: &[String],
    ports: &BTreeMap<String, u16>,
) -> Result<EnvBlocks> {
    let resolved = resolve::resolve(catalog, template, enabled, ports, ".")?;
    let port_of = resolved
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.port))
        .collect();
    let fill = |v: &String| resolve::fill_placeholders(v, None, &port_of, ".");
    enabled
        .iter()
        .map(|feature| {
            let env = &catalog.modules[feature].manifest.env;
            let entries = env
                .iter()
                .map(|(k, v)| Ok((k.clone(), fill(v)?)))
                .collect::<Result<_>>()?;
            Ok((feature.clone(), entries))
        })
        .collect()
}

/// What `paxx.toml` records about what paxx generated, set alike by every planner: the
/// enabled modules' versions, the hashes of the files paxx wrote, and the dependencies
/// it added (runtime, dev).
pub fn record_generation(
    doc: &mut PaxxTomlMut,
    catalog: &Catalog,
    enabled: &[String],
    generated: &BTreeMap<String, String>,
    added: &[Vec<String>; 2],
) {
    doc.set_modules(
        &enabled
            .iter()
            .map(|n| (n.clone(), catalog.modules[n].manifest.module.version))
            .collect(),
    );
    doc.set_generated(generated);
    doc.set_added_dependencies(&added[0], &added[1]);
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
