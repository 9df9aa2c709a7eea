//! Which files paxx generated the user has changed or deleted — the template's as well as
//! the modules'. "What paxx generated" is the project generated again by the same
//! [`generate_tree`] that `new` and `upgrade` use, with the catalog of the project's own
//! version, so a name applied by `new`/`init` is no change of the user's.
//!
//! Two files are not faithfully reproducible that way: where a feature's dependencies and
//! settings sit in `pyproject.toml` and `.env.example` depends on the order the features
//! were added in. They are compared as `upgrade` treats them: paxx's entries against
//! paxx's entries, the rest against the template's own text.

use anyhow::Result;

use super::{generate_tree, Answers, Project};
use crate::catalog::Catalog;
use crate::editors::env_file::EnvFile;
use crate::editors::paxx_toml::{self, ProjectState};
use crate::editors::pyproject::{DepGroup, PyProjectMut};
use crate::hash::content_hash;
use crate::resolve::enabled_features;

#[derive(Debug, Default, PartialEq)]
pub struct Drift {
    /// Generated files whose content the user changed, sorted.
    pub modified: Vec<String>,
    /// Generated files the user deleted, sorted.
    pub missing: Vec<String>,
}

/// `catalog` must be the one of the project's own paxx version.
pub fn drift(catalog: &Catalog, project: &Project) -> Result<Drift> {
    let state = &project.state;
    let answers = Answers {
        template: &state.template,
        name: &state.name,
        features: &state.features,
        ports: &state.ports,
    };
    let (generated, _) = generate_tree(catalog, &answers)?;
    let (bare, _) = generate_tree(
        catalog,
        &Answers {
            features: &[],
            ..answers
        },
    )?;
    let (enabled, _) = enabled_features(catalog, &state.template, &state.features)?;
    let mut out = Drift::default();
    for (path, then) in &generated {
        if path == paxx_toml::FILE {
            continue; // the record itself, paxx's to keep
        }
        let Some(now) = project.files.read(path)? else {
            out.missing.push(path.clone());
            continue;
        };
        // The hash paxx recorded when it wrote the file is the judge too.
        if now == *then || state.generated.get(path) == Some(&content_hash(&now)) {
            continue;
        }
        let template_text = bare.get(path).map(|b| String::from_utf8_lossy(b));
        let (Ok(now), Some(template_text)) = (std::str::from_utf8(&now), template_text) else {
            out.modified.push(path.clone());
            continue;
        };
        let changed = match path.as_str() {
            PyProjectMut::FILE => pyproject_changed(now, &template_text, state),
            EnvFile::FILE => {
                let as_generated = |then: &[u8]| {
                    env_changed(
                        now,
                        &String::from_utf8_lossy(then),
                        &template_text,
                        &enabled,
                    )
                };
                // Values hold the ports of when a block was written: `[ports]` set in
                // paxx.toml afterwards is no edit of the user's to this file.
                as_generated(then)
                    && (state.ports.is_empty()
                        || as_generated(&default_ports(catalog, &answers, path)?))
            }
            _ => true,
        };
        if changed {
            out.modified.push(path.clone());
        }
    }
    Ok(out)
}

/// `path` as generated with every service on its default port.
fn default_ports(catalog: &Catalog, answers: &Answers, path: &str) -> Result<Vec<u8>> {
    let defaults = Default::default();
    let answers = Answers {
        ports: &defaults,
        ..*answers
    };
    let (tree, _) = generate_tree(catalog, &answers)?;
    Ok(tree.get(path).cloned().unwrap_or_default())
}

/// Without the entries paxx added, is it still the template's file?
fn pyproject_changed(now: &str, template_text: &str, state: &ProjectState) -> bool {
    let Ok(mut doc) = PyProjectMut::parse(now) else {
        return true;
    };
    let added = [
        (DepGroup::Runtime, &state.added_dependencies),
        (DepGroup::Dev, &state.added_dev_dependencies),
    ];
    for (group, specs) in added {
        for spec in specs {
            if !doc.remove_dependency(group, spec).unwrap_or(false) {
                return true; // the user took out or changed one of paxx's entries
            }
        }
    }
    doc.render() != template_text
}

/// Each feature's block as paxx writes it, and without them the template's file?
fn env_changed(now: &str, generated: &str, template_text: &str, enabled: &[String]) -> bool {
    let (mut ours, theirs) = (EnvFile::parse(now), EnvFile::parse(generated));
    for feature in enabled {
        if block_text(&ours, feature) != block_text(&theirs, feature) {
            return true;
        }
        ours.remove_block(feature);
    }
    ours.render() != template_text
}

fn block_text(env: &EnvFile, feature: &str) -> Option<String> {
    let range = env.block_lines(feature)?;
    let text = env.render();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    Some(lines[range].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_blocks_in_another_order_are_no_change() {
        let template = "A=1\n";
        let generated =
            "A=1\n\n# x (paxx-compose feature)\nX=1\n\n# y (paxx-compose feature)\nY=1\n";
        let grown = "A=1\n\n# y (paxx-compose feature)\nY=1\n\n# x (paxx-compose feature)\nX=1\n";
        let features = ["x".to_string(), "y".to_string()];
        assert!(!env_changed(grown, generated, template, &features));
        let edited = grown.replace("Y=1", "Y=2");
        assert!(env_changed(&edited, generated, template, &features));
        let exported = grown.replace("Y=1", "export Y=1");
        assert!(env_changed(&exported, generated, template, &features));
        let mine = format!("{grown}MINE=1\n");
        assert!(env_changed(&mine, generated, template, &features));
    }
}
