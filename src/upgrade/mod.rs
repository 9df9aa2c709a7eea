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
use crate::editors::paxx_toml::{self, PaxxTomlMut};
use crate::editors::pyproject::{DepGroup, PyProjectMut};
use crate::hash::content_hash;
use crate::plan::{dependencies, env_entries, generate_tree, Answers, Change, Project, Tree};
use crate::resolve::enabled_features;

pub mod merge;
mod migrate;
mod report;
mod structured;

pub use report::{open_conflicts, Outcome, Report};

use merge::{Labels, Merged};

#[derive(Debug, Default)]
pub struct Upgrade {
    /// Sorted by path, `paxx.toml` last.
    pub changes: Vec<Change>,
    /// Renames first, then by path.
    pub reports: Vec<Report>,
    pub notes: Vec<String>,
    /// Files written with conflict markers.
    pub conflicts: Vec<String>,
}

pub fn plan_upgrade(old: &Catalog, new: &Catalog, project: &Project) -> Result<Upgrade> {
    let state = &project.state;
    let in_catalog =
        |c: &Catalog| format!("features of this project in the paxx {} catalog", c.version);
    let (old_enabled, _) =
        enabled_features(old, &state.template, &state.features).with_context(|| in_catalog(old))?;
    let (new_enabled, _) =
        enabled_features(new, &state.template, &state.features).with_context(|| in_catalog(new))?;
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
    let mut base = generate(old, &answers)?;
    let theirs = generate(new, &answers)?;
    let (base_bare, theirs_bare) = (generate(old, &bare)?, generate(new, &bare)?);

    let kept_features: Vec<String> = new_enabled
        .iter()
        .filter(|f| old_enabled.contains(f))
        .cloned()
        .collect();
    let steps = migrate::steps(old, new, state, &kept_features);
    let mut ours = migrate::Ours {
        disk: project.files,
        moved: BTreeMap::new(),
    };
    let moved = migrate::apply_renames(&steps, &mut base, &mut ours)?;

    let (base_label, theirs_label) = (
        format!("paxx {}", old.version),
        format!("paxx {}", new.version),
    );
    let labels = Labels {
        ours: "yours",
        base: &base_label,
        theirs: &theirs_label,
    };
    let mut up = Upgrade::default();
    let mut results: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    for (from, to) in moved {
        results.insert(from.clone(), None);
        up.reports.push(Report {
            path: from,
            outcome: Outcome::Renamed(to),
        });
    }
    let mut reports = Vec::new();

    let structured = [paxx_toml::FILE, PyProjectMut::FILE, EnvFile::FILE];
    let paths: BTreeSet<&String> = base.keys().chain(theirs.keys()).collect();
    for path in paths
        .into_iter()
        .filter(|p| !structured.contains(&p.as_str()))
    {
        let current = ours.read(path)?;
        // A file still exactly as paxx recorded writing it is unchanged by the user, even
        // where today's renderer makes the old catalog's version a little differently.
        let pristine = current
            .as_ref()
            .filter(|now| state.generated.get(path.as_str()) == Some(&content_hash(now)));
        let (result, outcome) = decide(
            pristine.or(base.get(path)).map(Vec::as_slice),
            current.as_deref(),
            theirs.get(path).map(Vec::as_slice),
            &labels,
        );
        if outcome == Some(Outcome::Conflict) && !base.contains_key(path) {
            up.notes.push(format!(
                "{path}: a file of yours is where paxx now puts one; both are in it, between markers"
            ));
        }
        results.insert(path.clone(), result);
        reports.extend(outcome.map(|outcome| Report {
            path: path.clone(),
            outcome,
        }));
    }

    // pyproject.toml: dependency entries re-planned.
    let mut recorded = [
        state.added_dependencies.clone(),
        state.added_dev_dependencies.clone(),
    ];
    let text_of = |tree: &Tree, path: &str| -> String {
        tree.get(path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let pyproject = PyProjectMut::FILE;
    if let Some(current) = read_text(&ours, pyproject)? {
        let out = structured::pyproject(
            &structured::Pyproject {
                ours: &current,
                base_bare: &text_of(&base_bare, pyproject),
                theirs_bare: &text_of(&theirs_bare, pyproject),
                recorded: [&state.added_dependencies, &state.added_dev_dependencies],
                needed: [
                    dependencies(new, &new_enabled, DepGroup::Runtime),
                    dependencies(new, &new_enabled, DepGroup::Dev),
                ],
            },
            &labels,
        )?;
        recorded = out.recorded;
        up.notes.extend(out.notes);
        settle(pyproject, &current, out.merged, &mut results, &mut reports);
    } else if base.contains_key(pyproject) {
        reports.push(Report {
            path: pyproject.into(),
            outcome: Outcome::KeptDeleted,
        });
    }

    // .env.example: feature blocks re-planned; .env: only migrations' renames.
    let blocks = |catalog: &Catalog, enabled: &[String], renames: &[(String, String)]| {
        let mut out = structured::Blocks::new();
        for feature in enabled {
            let mut entries =
                env_entries(catalog, &state.template, enabled, &state.ports, feature)?;
            for (key, _) in entries.iter_mut() {
                for (from, to) in renames {
                    if key == from {
                        *key = to.clone();
                    }
                }
            }
            out.insert(feature.clone(), entries);
        }
        Ok::<_, anyhow::Error>(out)
    };
    let env_example = EnvFile::FILE;
    if let Some(current) = read_text(&ours, env_example)? {
        let out = structured::env_example(
            &structured::EnvExample {
                ours: &current,
                base_bare: &text_of(&base_bare, env_example),
                theirs_bare: &text_of(&theirs_bare, env_example),
                renames: &steps.env_renames,
                old_blocks: &blocks(old, &old_enabled, &steps.env_renames)?,
                new_blocks: &blocks(new, &new_enabled, &[])?,
            },
            &labels,
        );
        up.notes.extend(out.notes);
        settle(
            env_example,
            &current,
            out.merged,
            &mut results,
            &mut reports,
        );
    }
    if !steps.env_renames.is_empty() {
        if let Some(current) = read_text(&ours, ".env")? {
            if let Some(renamed) = structured::dot_env(&current, &steps.env_renames) {
                results.insert(".env".into(), Some(renamed.into_bytes()));
                reports.push(Report {
                    path: ".env".into(),
                    outcome: Outcome::SettingsRenamed,
                });
            }
        }
        for (from, to) in &steps.env_renames {
            up.notes
                .push(format!("setting {from} is now {to} (migration)"));
        }
    }

    reports.sort_by(|a, b| a.path.cmp(&b.path));
    up.conflicts = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Conflict)
        .map(|r| r.path.clone())
        .collect();
    up.reports.extend(reports);

    for (path, after) in results {
        let before = project.files.read(&path)?;
        if before != after {
            up.changes.push(Change {
                path,
                before,
                after,
            });
        }
    }

    // paxx.toml last: the new version, and what paxx now generates.
    let theirs_toml = text_of(&theirs, paxx_toml::FILE);
    let generated = PaxxTomlMut::parse(&theirs_toml)?.state()?.generated;
    let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
    doc.set_paxx_version(&new.version);
    doc.set_modules(
        &new_enabled
            .iter()
            .map(|n| (n.clone(), new.modules[n].manifest.module.version))
            .collect(),
    );
    doc.set_generated(&generated);
    doc.set_added_dependencies(&recorded[0], &recorded[1]);
    doc.set_conflicts(&up.conflicts);
    let rendered = doc.render();
    if rendered != project.paxx_toml {
        up.changes.push(Change {
            path: paxx_toml::FILE.into(),
            before: Some(project.paxx_toml.clone().into_bytes()),
            after: Some(rendered.into_bytes()),
        });
    }
    Ok(up)
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
fn settle(
    path: &str,
    current: &str,
    merged: Merged,
    results: &mut BTreeMap<String, Option<Vec<u8>>>,
    reports: &mut Vec<Report>,
) {
    let outcome = match &merged {
        Merged::Conflict(_) => Some(Outcome::Conflict),
        Merged::Clean(text) if text == current => None,
        Merged::Clean(_) => Some(Outcome::Replanned),
    };
    results.insert(path.to_string(), Some(merged.text().as_bytes().to_vec()));
    reports.extend(outcome.map(|outcome| Report {
        path: path.to_string(),
        outcome,
    }));
}

fn read_text(ours: &migrate::Ours, path: &str) -> Result<Option<String>> {
    ours.read(path)?
        .map(|b| String::from_utf8(b).map_err(|_| anyhow!("{path}: not UTF-8 text")))
        .transpose()
}
