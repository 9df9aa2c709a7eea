//! `upgrade`, the pure part: (the project's old catalog, the current one, the project) →
//! the changes that bring it to the current catalog, and what happened to each file.
//!
//! Both sides of the merge come from the same planner: *base* is the project generated
//! with the catalog of its recorded version (from the history), *theirs* with the current
//! one, for the same template, name, features and ports; *ours* is the file on disk.
//! Generated files are merged three ways by line; `pyproject.toml` and `.env.example` are
//! re-planned entry by entry (`structured.rs`); `paxx.toml` is rewritten.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, Context, Result};

use crate::catalog::Catalog;
use crate::editors::env_file::EnvFile;
use crate::editors::paxx_toml::{self, PaxxTomlMut, ProjectState};
use crate::editors::pyproject::{DepGroup, PyProjectMut};
use crate::hash::content_hash;
use crate::plan::{
    dependencies, env_blocks, generate_tree, record_generation, Answers, Change, Project, Tree,
};
use crate::resolve::enabled_features;

pub mod merge;
mod migrate;
mod report;
mod structured;

pub use report::{open_conflicts, quoted, refuse_open, Outcome, Report};

use merge::{Labels, Merged};

#[derive(Debug, Default)]
pub struct Upgrade {
    /// Sorted by path, `paxx.toml` last.
    pub changes: Vec<Change>,
    /// Renames first, then by path, `paxx.toml` last: one for each change, and one for
    /// each file kept as it is.
    pub reports: Vec<Report>,
    pub notes: Vec<String>,
    /// Files written with conflict markers.
    pub conflicts: Vec<String>,
}

/// Both sides of the merge, from the same planner: the project as the old catalog and as
/// the new one generate it, with and without its features.
struct Sides<'a> {
    old: &'a Catalog,
    new: &'a Catalog,
    state: &'a ProjectState,
    old_enabled: Vec<String>,
    new_enabled: Vec<String>,
    base: Tree,
    theirs: Tree,
    base_bare: Tree,
    theirs_bare: Tree,
    base_label: String,
    theirs_label: String,
}

impl<'a> Sides<'a> {
    fn generate(old: &'a Catalog, new: &'a Catalog, state: &'a ProjectState) -> Result<Self> {
        let in_catalog =
            |c: &Catalog| format!("features of this project in the paxx {} catalog", c.version);
        let (old_enabled, _) = enabled_features(old, &state.template, &state.features)
            .with_context(|| in_catalog(old))?;
        let (new_enabled, _) = enabled_features(new, &state.template, &state.features)
            .with_context(|| in_catalog(new))?;
        let answers = Answers {
            template: &state.template,
            name: &state.name,
            features: &state.features,
            ports: &state.ports,
        };
        let bare = Answers {
            features: &[],
            ..answers
        };
        let generate = |catalog: &Catalog, answers: &Answers| -> Result<Tree> {
            generate_tree(catalog, answers)
                .map(|(tree, _)| tree)
                .with_context(|| {
                    format!(
                        "cannot generate this project with the paxx {} catalog",
                        catalog.version
                    )
                })
        };
        Ok(Sides {
            old,
            new,
            state,
            old_enabled,
            new_enabled,
            base: generate(old, &answers)?,
            theirs: generate(new, &answers)?,
            base_bare: generate(old, &bare)?,
            theirs_bare: generate(new, &bare)?,
            base_label: format!("paxx {}", old.version),
            theirs_label: format!("paxx {}", new.version),
        })
    }

    fn labels(&self) -> Labels<'_> {
        Labels {
            ours: "yours",
            base: &self.base_label,
            theirs: &self.theirs_label,
        }
    }

    fn text(tree: &Tree, path: &str) -> String {
        tree.get(path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
}

/// What each file becomes (`None`: deleted) and what is said about it, gathered file by file.
#[derive(Default)]
struct Outcomes {
    results: BTreeMap<String, Option<Vec<u8>>>,
    reports: Vec<Report>,
    notes: Vec<String>,
}

impl Outcomes {
    fn report(&mut self, path: &str, outcome: Option<Outcome>) {
        self.reports.extend(outcome.map(|outcome| Report {
            path: path.to_string(),
            outcome,
        }));
    }
}

pub fn plan_upgrade(old: &Catalog, new: &Catalog, project: &Project) -> Result<Upgrade> {
    let state = &project.state;
    let mut sides = Sides::generate(old, new, state)?;
    let kept_features: Vec<String> = sides
        .new_enabled
        .iter()
        .filter(|f| sides.old_enabled.contains(f))
        .cloned()
        .collect();
    let steps = migrate::steps(old, new, state, &kept_features);
    let mut ours = migrate::Ours {
        disk: project.files,
        moved: BTreeMap::new(),
    };
    let moved = migrate::apply_renames(&steps, &mut sides.base, &mut ours)?;

    let mut out = Outcomes::default();
    let mut renames = Vec::new();
    for (from, to) in moved {
        out.results.insert(from.clone(), None);
        renames.push(Report {
            path: from,
            outcome: Outcome::Renamed(to),
        });
    }
    merge_files(&sides, &ours, &mut out)?;
    let recorded = replan_pyproject(&sides, &ours, &mut out)?;
    replan_env(&sides, &ours, &steps.env_renames, &mut out)?;

    out.reports.sort_by(|a, b| a.path.cmp(&b.path));
    let mut up = Upgrade {
        conflicts: out
            .reports
            .iter()
            .filter(|r| r.outcome == Outcome::Conflict)
            .map(|r| r.path.clone())
            .collect(),
        reports: renames.into_iter().chain(out.reports).collect(),
        notes: out.notes,
        changes: Vec::new(),
    };
    for (path, after) in out.results {
        let before = project.files.read(&path)?;
        if before != after {
            up.changes.push(Change {
                path,
                before,
                after,
            });
        }
    }
    record(&sides, project, &recorded, &mut up)?;
    Ok(up)
}

/// Every generated file but the structured ones, merged three ways.
fn merge_files(sides: &Sides, ours: &migrate::Ours, out: &mut Outcomes) -> Result<()> {
    let structured = [paxx_toml::FILE, PyProjectMut::FILE, EnvFile::FILE];
    let paths: BTreeSet<&String> = sides.base.keys().chain(sides.theirs.keys()).collect();
    for path in paths
        .into_iter()
        .filter(|p| !structured.contains(&p.as_str()))
    {
        let current = ours.read(path)?;
        // A file still exactly as paxx recorded writing it is unchanged by the user, even
        // where today's renderer makes the old catalog's version a little differently.
        let pristine = current
            .as_ref()
            .filter(|now| sides.state.generated.get(path.as_str()) == Some(&content_hash(now)));
        let (result, outcome) = decide(
            pristine.or(sides.base.get(path)).map(Vec::as_slice),
            current.as_deref(),
            sides.theirs.get(path).map(Vec::as_slice),
            &sides.labels(),
        );
        if outcome == Some(Outcome::Conflict) && !sides.base.contains_key(path) {
            out.notes.push(format!(
                "{path}: a file of yours is where paxx now puts one; both are in it, between markers"
            ));
        }
        out.results.insert(path.clone(), result);
        out.report(path, outcome);
    }
    Ok(())
}

/// `pyproject.toml`: dependency entries re-planned. Returns the entries paxx added,
/// runtime then dev, to record.
fn replan_pyproject(
    sides: &Sides,
    ours: &migrate::Ours,
    out: &mut Outcomes,
) -> Result<[Vec<String>; 2]> {
    let state = sides.state;
    let pyproject = PyProjectMut::FILE;
    let Some(current) = read_text(ours, pyproject)? else {
        if sides.base.contains_key(pyproject) {
            out.report(pyproject, Some(Outcome::KeptDeleted));
        }
        return Ok([
            state.added_dependencies.clone(),
            state.added_dev_dependencies.clone(),
        ]);
    };
    let replanned = structured::pyproject(
        &structured::Pyproject {
            ours: &current,
            base_bare: &Sides::text(&sides.base_bare, pyproject),
            theirs_bare: &Sides::text(&sides.theirs_bare, pyproject),
            recorded: [&state.added_dependencies, &state.added_dev_dependencies],
            needed: [
                dependencies(sides.new, &sides.new_enabled, DepGroup::Runtime),
                dependencies(sides.new, &sides.new_enabled, DepGroup::Dev),
            ],
        },
        &sides.labels(),
    )?;
    out.notes.extend(replanned.notes);
    settle(pyproject, &current, replanned.merged, out);
    Ok(replanned.recorded)
}

/// `.env.example`: feature blocks re-planned; `.env`: only migrations' renames.
fn replan_env(
    sides: &Sides,
    ours: &migrate::Ours,
    renames: &[(String, String)],
    out: &mut Outcomes,
) -> Result<()> {
    let state = sides.state;
    let blocks = |catalog: &Catalog, enabled: &[String], renames: &[(String, String)]| {
        let mut blocks = env_blocks(catalog, &state.template, enabled, &state.ports)?;
        for (key, _) in blocks.values_mut().flatten() {
            for (from, to) in renames {
                if key == from {
                    *key = to.clone();
                }
            }
        }
        Ok::<_, anyhow::Error>(blocks)
    };
    let env_example = EnvFile::FILE;
    if let Some(current) = read_text(ours, env_example)? {
        let replanned = structured::env_example(
            &structured::EnvExample {
                ours: &current,
                base_bare: &Sides::text(&sides.base_bare, env_example),
                theirs_bare: &Sides::text(&sides.theirs_bare, env_example),
                renames,
                old_blocks: &blocks(sides.old, &sides.old_enabled, renames)?,
                new_blocks: &blocks(sides.new, &sides.new_enabled, &[])?,
            },
            &sides.labels(),
        );
        out.notes.extend(replanned.notes);
        settle(env_example, &current, replanned.merged, out);
    }
    if renames.is_empty() {
        return Ok(());
    }
    if let Some(current) = read_text(ours, ".env")? {
        if let Some(renamed) = structured::dot_env(&current, renames) {
            out.results
                .insert(".env".into(), Some(renamed.into_bytes()));
            out.report(".env", Some(Outcome::SettingsRenamed));
        }
    }
    for (from, to) in renames {
        out.notes
            .push(format!("setting {from} is now {to} (migration)"));
    }
    Ok(())
}

/// `paxx.toml` last: the new version, and what paxx now generates. Reported like any
/// other file, so that what is listed is what is written.
fn record(
    sides: &Sides,
    project: &Project,
    recorded: &[Vec<String>; 2],
    up: &mut Upgrade,
) -> Result<()> {
    let theirs_toml = Sides::text(&sides.theirs, paxx_toml::FILE);
    let generated = PaxxTomlMut::parse(&theirs_toml)?.state()?.generated;
    let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
    doc.set_paxx_version(&sides.new.version);
    record_generation(
        &mut doc,
        sides.new,
        &sides.new_enabled,
        &generated,
        recorded,
    );
    doc.set_conflicts(&up.conflicts);
    let rendered = doc.render();
    if rendered != project.paxx_toml {
        up.reports.push(Report {
            path: paxx_toml::FILE.into(),
            outcome: Outcome::Updated,
        });
        up.changes.push(Change {
            path: paxx_toml::FILE.into(),
            before: Some(project.paxx_toml.clone().into_bytes()),
            after: Some(rendered.into_bytes()),
        });
    }
    Ok(())
}

/// One generated file: base (paxx then), ours (now), theirs (paxx now) → what to leave.
fn decide(
    base: Option<&[u8]>,
    ours: Option<&[u8]>,
    theirs: Option<&[u8]>,
    labels: &Labels,
) -> (Option<Vec<u8>>, Option<Outcome>) {
    use Outcome::*;
    match (base, ours, theirs) {
        (_, Some(o), Some(t)) if o == t => (Some(o.to_vec()), None),
        (Some(b), Some(o), Some(t)) if o == b => (Some(t.to_vec()), Some(Updated)),
        (Some(b), Some(o), Some(t)) if b == t => (Some(o.to_vec()), Some(KeptChanged)),
        (b, Some(o), Some(t)) => {
            let text = |bytes: &[u8]| std::str::from_utf8(bytes).map(str::to_string).ok();
            match (text(b.unwrap_or_default()), text(o), text(t)) {
                (Some(b), Some(o), Some(t)) => match structured::text(&b, &o, &t, labels) {
                    merge::Merged::Clean(m) => (Some(m.into_bytes()), Some(Merged)),
                    merge::Merged::Conflict(m) => (Some(m.into_bytes()), Some(Conflict)),
                },
                _ => (Some(o.to_vec()), Some(KeptBinary)),
            }
        }
        (Some(_), None, Some(_)) => (None, Some(KeptDeleted)),
        (None, None, Some(t)) => (Some(t.to_vec()), Some(Added)),
        (Some(b), Some(o), None) if o == b => (None, Some(Removed)),
        (Some(_), Some(o), None) => (Some(o.to_vec()), Some(KeptGoneChanged)),
        (_, current, None) => (current.map(<[u8]>::to_vec), None),
    }
}

/// Records a structured file's result and what it means for the user.
fn settle(path: &str, current: &str, merged: Merged, out: &mut Outcomes) {
    let outcome = match &merged {
        Merged::Conflict(_) => Some(Outcome::Conflict),
        Merged::Clean(text) if text == current => None,
        Merged::Clean(_) => Some(Outcome::Replanned),
    };
    out.results
        .insert(path.to_string(), Some(merged.text().as_bytes().to_vec()));
    out.report(path, outcome);
}

fn read_text(ours: &migrate::Ours, path: &str) -> Result<Option<String>> {
    ours.read(path)?
        .map(|b| String::from_utf8(b).map_err(|_| anyhow!("{path}: not UTF-8 text")))
        .transpose()
}
