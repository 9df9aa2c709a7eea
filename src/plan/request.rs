//! From what the user asked for to the feature sets before and after: `requires` closed
//! over, the features asked for recorded, and what the user should hear about it.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

use super::Request;
use crate::catalog::Catalog;
use crate::editors::paxx_toml::ProjectState;
use crate::resolve::{self, enabled_features};

/// The features before and after a request.
#[derive(Debug, PartialEq)]
pub struct FeatureSets {
    /// The features asked for after the request (`paxx.toml` `[project].features`).
    pub explicit: Vec<String>,
    /// Every enabled feature before and after, sorted.
    pub old_enabled: Vec<String>,
    pub new_enabled: Vec<String>,
    pub notes: Vec<String>,
}

pub fn feature_sets(
    catalog: &Catalog,
    state: &ProjectState,
    request: &Request,
) -> Result<FeatureSets> {
    let names = match request {
        Request::Add(names) | Request::Remove(names) => names,
    };
    resolve::check_known(catalog, names)?;
    let (old_enabled, _) = enabled_features(catalog, &state.template, &state.features)?;
    let mut explicit: BTreeSet<String> = state.features.iter().cloned().collect();
    let mut notes = Vec::new();
    for name in names {
        match request {
            Request::Add(_) => {
                if explicit.contains(name) {
                    notes.push(format!("{name} is already enabled"));
                } else if old_enabled.contains(name) {
                    notes.push(format!(
                        "{name} was enabled as a requirement; now kept on its own"
                    ));
                }
                explicit.insert(name.clone());
            }
            Request::Remove(_) => {
                if !old_enabled.contains(name) {
                    notes.push(format!("{name} is not enabled"));
                }
                explicit.remove(name);
            }
        }
    }
    let explicit: Vec<String> = explicit.into_iter().collect();
    let (new_enabled, pulled_in) = enabled_features(catalog, &state.template, &explicit)?;
    match request {
        // Judged on the whole request, so that a feature goes with those requiring it
        // whatever the order they are named in.
        Request::Remove(names) => {
            if let Some(name) = names.iter().find(|n| new_enabled.contains(n)) {
                bail!(
                    "{name} is required by {}: remove that too, or keep {name}",
                    required_by(catalog, &new_enabled, name).join(", ")
                );
            }
        }
        Request::Add(_) => {
            for (by, name) in pulled_in {
                if !old_enabled.contains(&name) {
                    notes.push(format!("{by} needs {name}: adding it"));
                }
            }
        }
    }
    Ok(FeatureSets {
        explicit,
        old_enabled,
        new_enabled,
        notes,
    })
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
