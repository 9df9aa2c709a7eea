//! From a feature list to everything it implies: the closed set of enabled features,
//! and the packages, services and environment they bring. `devshells/lib` computes the
//! same from the same manifests in Nix; `tests/nix` checks that the two agree.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::catalog::{suggestion, Catalog};
use crate::manifest::ServiceSpec;

/// A feature enabled because another requires it: `(by, required)`.
pub type PulledIn = (String, String);

/// The features `explicit` enables, closed over `requires`, sorted; plus each feature
/// pulled in by another.
pub fn enabled_features(
    catalog: &Catalog,
    template: &str,
    explicit: &[String],
) -> Result<(Vec<String>, Vec<PulledIn>)> {
    let mut enabled = BTreeSet::new();
    let mut notes = Vec::new();
    let mut queue: Vec<(String, Option<String>)> =
        explicit.iter().map(|n| (n.clone(), None)).collect();
    while let Some((name, wanted_by)) = queue.pop() {
        let module = catalog.module(&name)?;
        if !module
            .manifest
            .module
            .templates
            .iter()
            .any(|t| t == template)
        {
            bail!(
                "feature `{name}` does not fit template `{template}` (it fits: {})",
                module.manifest.module.templates.join(", ")
            );
        }
        if !enabled.insert(name.clone()) {
            continue;
        }
        if let Some(by) = wanted_by {
            if !explicit.contains(&name) {
                notes.push((by, name.clone()));
            }
        }
        for required in &module.manifest.module.requires {
            queue.push((required.clone(), Some(name.clone())));
        }
    }
    for name in &enabled {
        for other in &catalog.modules[name].manifest.module.conflicts {
            if enabled.contains(other) {
                bail!("features `{name}` and `{other}` conflict: enable one or the other");
            }
        }
    }
    notes.sort();
    notes.dedup();
    Ok((enabled.into_iter().collect(), notes))
}

/// Refuses names the catalog does not know, suggesting the closest one.
pub fn check_known(catalog: &Catalog, names: &[String]) -> Result<()> {
    for name in names {
        if !catalog.modules.contains_key(name) {
            bail!(
                "unknown feature `{name}`{}; run `paxx-compose list` to see them all",
                suggestion(name, catalog.modules.keys().map(String::as_str))
            );
        }
    }
    Ok(())
}

/// A service as it runs in one project: the manifest's with placeholders filled and the
/// project's port (`[ports]` over the manifest's), plus where its data lives. One model:
/// a manifest field is a field here too, with no copy to keep in step.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResolvedService {
    #[serde(flatten)]
    pub spec: ServiceSpec,
    /// `<root>/.paxx/state/<name>`, or where `up` keeps it outside the project.
    pub state: String,
}

impl std::ops::Deref for ResolvedService {
    type Target = ServiceSpec;
    fn deref(&self) -> &ServiceSpec {
        &self.spec
    }
}

impl std::ops::DerefMut for ResolvedService {
    fn deref_mut(&mut self) -> &mut ServiceSpec {
        &mut self.spec
    }
}

impl ResolvedService {
    /// This service running its `index`th fallback instead of its own command.
    pub fn with_fallback(&self, index: usize) -> ResolvedService {
        ResolvedService {
            spec: self.spec.with_fallback(index),
            state: self.state.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Resolved {
    pub packages: Vec<String>,
    pub services: Vec<ResolvedService>,
    pub env: BTreeMap<String, String>,
}

/// Packages, services (in start order) and environment for `enabled` on `template`, with
/// placeholders filled in for a project at `root` with `ports` overrides.
pub fn resolve(
    catalog: &Catalog,
    template: &str,
    enabled: &[String],
    ports: &BTreeMap<String, u16>,
    root: &str,
) -> Result<Resolved> {
    resolve_with_states(catalog, template, enabled, ports, root, &BTreeMap::new())
}

/// `resolve`, with the state folder (`{state}`) of the services in `states` somewhere
/// else than `.paxx/state/<service>`: where `up` keeps the data of a service whose
/// account cannot enter the project (src/services/outside.rs).
pub fn resolve_with_states(
    catalog: &Catalog,
    template: &str,
    enabled: &[String],
    ports: &BTreeMap<String, u16>,
    root: &str,
    states: &BTreeMap<String, String>,
) -> Result<Resolved> {
    let Gathered {
        packages,
        specs,
        raw_env,
    } = gather(catalog, template, enabled)?;
    let port_of: BTreeMap<&str, Option<u16>> = specs
        .iter()
        .map(|s| (s.name.as_str(), ports.get(&s.name).copied().or(s.port)))
        .collect();
    let state_of = |service: &str| {
        states
            .get(service)
            .cloned()
            .unwrap_or_else(|| state_dir(root, service))
    };
    let fill = |text: &str, own: Option<&ServiceSpec>| -> Result<String> {
        let own = own.map(|s| s.name.as_str());
        fill_in(text, own, &port_of, root, own.map(state_of).as_deref())
    };

    let mut services = Vec::new();
    for s in start_order(&specs)? {
        let mut spec = s.fill(&|text| fill(text, Some(s)))?;
        spec.port = port_of[s.name.as_str()];
        services.push(ResolvedService {
            spec,
            state: state_of(&s.name),
        });
    }
    let mut env = BTreeMap::new();
    for (k, v) in raw_env {
        env.insert(k.clone(), fill(v, None)?);
    }
    Ok(Resolved {
        packages,
        services,
        env,
    })
}

/// What the template and the enabled features declare, before placeholders are filled.
struct Gathered<'a> {
    packages: Vec<String>,
    specs: Vec<&'a ServiceSpec>,
    raw_env: Vec<(&'a String, &'a String)>,
}

/// Packages (each once), services (each name once: a second is an error naming who
/// declares it) and settings, template first, then the features in order.
fn gather<'a>(catalog: &'a Catalog, template: &str, enabled: &[String]) -> Result<Gathered<'a>> {
    let template_manifest = &catalog.template(template)?.manifest;
    let mut sources = vec![(
        format!("template `{template}`"),
        &template_manifest.nix.packages,
        &template_manifest.services,
        &template_manifest.env,
    )];
    for name in enabled {
        let m = &catalog.module(name)?.manifest;
        sources.push((
            format!("feature `{name}`"),
            &m.nix.packages,
            &m.services,
            &m.env,
        ));
    }
    let mut out = Gathered {
        packages: Vec::new(),
        specs: Vec::new(),
        raw_env: Vec::new(),
    };
    for (origin, pkgs, services, env) in sources {
        for p in pkgs {
            if !out.packages.contains(p) {
                out.packages.push(p.clone());
            }
        }
        for s in services {
            if out.specs.iter().any(|o| o.name == s.name) {
                bail!(
                    "{origin} declares service `{}`, which another enabled feature declares too",
                    s.name
                );
            }
            out.specs.push(s);
        }
        out.raw_env.extend(env.iter());
    }
    Ok(out)
}

pub fn state_dir(root: &str, service: &str) -> String {
    format!("{root}/.paxx/state/{service}")
}

/// Substitutes `{port}`, `{port:<service>}`, `{state}` and `{project}`; an unknown
/// placeholder or service is an error rather than text left for a shell to choke on.
pub fn fill_placeholders(
    text: &str,
    own: Option<&str>,
    ports: &BTreeMap<&str, Option<u16>>,
    root: &str,
) -> Result<String> {
    let state = own.map(|service| state_dir(root, service));
    fill_in(text, own, ports, root, state.as_deref())
}

/// `fill_placeholders` with `{state}` given (None outside a service).
fn fill_in(
    text: &str,
    own: Option<&str>,
    ports: &BTreeMap<&str, Option<u16>>,
    root: &str,
    state: Option<&str>,
) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let key = &after[..close];
        let port = |service: &str| -> Result<String> {
            match ports.get(service) {
                Some(Some(p)) => Ok(p.to_string()),
                Some(None) => bail!("`{{{key}}}` in `{text}`: service `{service}` has no port"),
                None => bail!("`{{{key}}}` in `{text}`: no enabled service is named `{service}`"),
            }
        };
        let value = match (key, key.strip_prefix("port:")) {
            (_, Some(service)) => port(service)?,
            ("port", _) => match own {
                Some(service) => port(service)?,
                None => {
                    bail!("`{{port}}` in `{text}` is outside a service; use `{{port:<service>}}`")
                }
            },
            ("state", _) => match state {
                Some(state) => state.to_string(),
                None => bail!("`{{state}}` in `{text}` is outside a service"),
            },
            ("project", _) => root.to_string(),
            _ => bail!("unknown placeholder `{{{key}}}` in `{text}`"),
        };
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Stable topological order by `after`: a service follows those it names, and otherwise
/// keeps its declaration order.
fn start_order<'a>(specs: &[&'a ServiceSpec]) -> Result<Vec<&'a ServiceSpec>> {
    for s in specs {
        for dep in &s.after {
            if !specs.iter().any(|o| &o.name == dep) {
                bail!(
                    "service `{}` starts after `{dep}`, which no enabled feature provides",
                    s.name
                );
            }
        }
    }
    let mut placed: Vec<&ServiceSpec> = Vec::new();
    while placed.len() < specs.len() {
        let next = specs.iter().find(|s| {
            !placed.iter().any(|p| p.name == s.name)
                && s.after.iter().all(|d| placed.iter().any(|p| &p.name == d))
        });
        match next {
            Some(s) => placed.push(s),
            None => {
                let stuck: Vec<&str> = specs
                    .iter()
                    .filter(|s| !placed.iter().any(|p| p.name == s.name))
                    .map(|s| s.name.as_str())
                    .collect();
                bail!(
                    "services {} wait for each other (a cycle in `after`)",
                    stuck.join(", ")
                );
            }
        }
    }
    Ok(placed)
}

#[cfg(test)]
mod tests;
