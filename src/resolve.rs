//! From a feature list to everything it implies: the closed set of enabled features,
//! and the packages, services and environment they bring. `devshells/lib` computes the
//! same from the same manifests in Nix; `tests/nix` checks that the two agree.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::catalog::{suggestion, Catalog};
use crate::manifest::{Fallback, Readiness, Restart, ServiceSpec, StopSignal};

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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResolvedService {
    pub name: String,
    pub package: Option<String>,
    pub debian: Option<String>,
    pub command: Vec<String>,
    pub init: Vec<Vec<String>>,
    pub setup: Vec<Vec<String>>,
    pub port: Option<u16>,
    pub after: Vec<String>,
    pub ready: Option<Readiness>,
    pub refuses_root: bool,
    pub env: BTreeMap<String, String>,
    /// `<root>/.paxx/state/<name>`.
    pub state: String,
    pub stop_signal: StopSignal,
    /// Seconds; the manifest's value or the default.
    pub ready_timeout: u64,
    pub probe_timeout: u64,
    pub stop_timeout: u64,
    /// Placeholders filled; `up` picks one when `command[0]` is not found.
    pub fallbacks: Vec<Fallback>,
    pub restart: Restart,
    pub restart_retries: u32,
    /// Seconds before the first restart.
    pub restart_delay: u64,
}

impl ResolvedService {
    /// This service running its `index`th fallback instead of its own command.
    pub fn with_fallback(&self, index: usize) -> ResolvedService {
        let fallback = &self.fallbacks[index];
        let mut out = self.clone();
        out.command = fallback.command.clone();
        if let Some(ready) = &fallback.ready {
            out.ready = Some(ready.clone());
        }
        if let Some(env) = &fallback.env {
            out.env = env.clone();
        }
        if let Some(init) = &fallback.init {
            out.init = init.clone();
        }
        if let Some(setup) = &fallback.setup {
            out.setup = setup.clone();
        }
        out.fallbacks = Vec::new();
        out
    }
}

/// Seconds `up` waits for a service to become ready when its manifest does not say.
/// Generous: only a service that hangs waits this long (one that exits is seen at once).
pub const DEFAULT_READY_TIMEOUT: u64 = 120;
/// Seconds one readiness probe may run: `uv run … arq --check` takes 6–7 s on a loaded
/// 2-core machine, so a few seconds would make a slow probe look like a failing one.
pub const DEFAULT_PROBE_TIMEOUT: u64 = 30;
/// Restarts in a row before `up` gives up on a service that keeps failing.
pub const DEFAULT_RESTART_RETRIES: u32 = 5;
/// Seconds before the first restart; doubled for each further one.
pub const DEFAULT_RESTART_DELAY: u64 = 1;
/// Seconds `down` waits after the stop signal before SIGKILL when the manifest does not say.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

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

    let mut packages: Vec<String> = Vec::new();
    let mut specs: Vec<&ServiceSpec> = Vec::new();
    let mut raw_env: Vec<(&String, &String)> = Vec::new();
    for (origin, pkgs, services, env) in &sources {
        for p in *pkgs {
            if !packages.contains(p) {
                packages.push(p.clone());
            }
        }
        for s in *services {
            if specs.iter().any(|o| o.name == s.name) {
                bail!(
                    "{origin} declares service `{}`, which another enabled feature declares too",
                    s.name
                );
            }
            specs.push(s);
        }
        raw_env.extend(env.iter());
    }

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
    let fill_all = |items: &[String], own: &ServiceSpec| -> Result<Vec<String>> {
        items.iter().map(|i| fill(i, Some(own))).collect()
    };

    let mut services = Vec::new();
    for s in start_order(&specs)? {
        services.push(ResolvedService {
            name: s.name.clone(),
            package: s.package.clone(),
            debian: s.debian.clone(),
            command: fill_all(&s.command, s)?,
            init: s
                .init
                .iter()
                .map(|c| fill_all(c, s))
                .collect::<Result<_>>()?,
            setup: s
                .setup
                .iter()
                .map(|c| fill_all(c, s))
                .collect::<Result<_>>()?,
            port: port_of[s.name.as_str()],
            after: s.after.clone(),
            ready: match &s.ready {
                Some(r) => Some(Readiness {
                    tcp: r.tcp,
                    command: r.command.as_ref().map(|c| fill_all(c, s)).transpose()?,
                }),
                None => None,
            },
            refuses_root: s.refuses_root,
            fallbacks: s
                .fallbacks
                .iter()
                .map(|f| {
                    let all = |cmds: &Vec<Vec<String>>| -> Result<Vec<Vec<String>>> {
                        cmds.iter().map(|c| fill_all(c, s)).collect()
                    };
                    Ok(Fallback {
                        command: fill_all(&f.command, s)?,
                        why: f.why.clone(),
                        ready: match &f.ready {
                            Some(r) => Some(Readiness {
                                tcp: r.tcp,
                                command: r.command.as_ref().map(|c| fill_all(c, s)).transpose()?,
                            }),
                            None => None,
                        },
                        env: f
                            .env
                            .as_ref()
                            .map(|env| {
                                env.iter()
                                    .map(|(k, v)| Ok((k.clone(), fill(v, Some(s))?)))
                                    .collect::<Result<BTreeMap<_, _>>>()
                            })
                            .transpose()?,
                        init: f.init.as_ref().map(all).transpose()?,
                        setup: f.setup.as_ref().map(all).transpose()?,
                    })
                })
                .collect::<Result<_>>()?,
            env: s
                .env
                .iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, Some(s))?)))
                .collect::<Result<_>>()?,
            state: state_of(&s.name),
            stop_signal: s.stop_signal,
            ready_timeout: s.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            probe_timeout: s.probe_timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT),
            stop_timeout: s.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            restart: s.restart,
            restart_retries: s.restart_retries.unwrap_or(DEFAULT_RESTART_RETRIES),
            restart_delay: s.restart_delay.unwrap_or(DEFAULT_RESTART_DELAY),
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
