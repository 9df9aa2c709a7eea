//! The service supervisor behind `up`, `down`, `env`, `doctor` and the services part of
//! `status`: PostgreSQL, Redis … started from PATH in dependency order, with their state
//! under `.paxx/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::catalog::{suggestion, Catalog};
use crate::editors::paxx_toml::ProjectState;
use crate::plan::Project;
use crate::resolve::{enabled_features, resolve_with_states, Resolved, ResolvedService};

pub mod account;
pub mod binary;
pub mod daemon;
pub mod exits;
pub mod output;
pub mod outside;
pub mod process;
pub mod ready;
pub mod redis_probe;
pub mod runtime;
pub mod signals;
pub mod start;
pub mod state;
pub mod stop;
pub mod supervisor;
pub mod watch;

/// A project with its services resolved: what every service command starts from.
pub struct Loaded {
    /// Canonical, so that `{state}` and `{project}` are absolute.
    pub root: PathBuf,
    pub catalog: Catalog,
    pub state: ProjectState,
    pub enabled: Vec<String>,
    pub resolved: Resolved,
    /// Fallbacks chosen because a service's own program is missing.
    pub fallbacks: Vec<FallbackChosen>,
}

impl Loaded {
    pub fn layout(&self) -> state::Layout {
        state::Layout::new(&self.root)
    }
}

pub fn load(cwd: &Path) -> Result<Loaded> {
    let root = crate::project::root(cwd)?;
    let root = root
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", root.display()))?;
    let catalog = crate::project::load_catalog()?;
    let files = crate::project::disk(&root);
    let state = Project::load(&files)?.state;
    let (enabled, _) = enabled_features(&catalog, &state.template, &state.features)?;
    let resolve_here = |states: &BTreeMap<String, String>| {
        resolve_with_states(
            &catalog,
            &state.template,
            &enabled,
            &state.ports,
            &root.to_string_lossy(),
            states,
        )
    };
    let mut resolved = resolve_here(&BTreeMap::new())?;
    let states = outside::states(&root, &resolved.services);
    if !states.is_empty() {
        resolved = resolve_here(&states)?;
    }
    let fallbacks = choose_fallbacks(&mut resolved.services, &root);
    resolved.services = as_run(&resolved.services, &resolved.env);
    Ok(Loaded {
        root,
        catalog,
        state,
        enabled,
        resolved,
        fallbacks,
    })
}

/// The services as they run: a project process (a worker: no package of its own) is the
/// app in another role, so it gets the settings the app gets from `paxx-compose env`,
/// under its own. Its probes see the same.
pub fn as_run(
    resolved: &[ResolvedService],
    env: &BTreeMap<String, String>,
) -> Vec<ResolvedService> {
    let mut services = resolved.to_vec();
    for service in services.iter_mut().filter(|s| s.package.is_none()) {
        let own = std::mem::take(&mut service.env);
        service.env = env.clone();
        service.env.extend(own);
    }
    services
}

/// A fallback `up` runs because a service's own program is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackChosen {
    pub service: String,
    /// The service's own program, not found.
    pub missing: String,
    /// The fallback's program.
    pub instead: String,
    pub why: String,
}

impl std::fmt::Display for FallbackChosen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let FallbackChosen {
            service,
            missing,
            instead,
            why,
        } = self;
        write!(
            f,
            "{service}: `{missing}` not found; running `{instead}` instead ({why})"
        )
    }
}

/// Swaps in the first fallback whose program exists for each service whose own program
/// does not (inside `nix develop` the pinned program is there and nothing changes).
/// A service with no usable fallback keeps its command, so the usual "not found" error
/// names what to install.
pub fn choose_fallbacks(services: &mut [ResolvedService], root: &Path) -> Vec<FallbackChosen> {
    let mut notes = Vec::new();
    for service in services.iter_mut() {
        let Some(program) = service.command.first() else {
            continue;
        };
        if service.fallbacks.is_empty() || binary::find(program, root).is_some() {
            continue;
        }
        let usable = service.fallbacks.iter().position(|f| {
            f.command
                .first()
                .is_some_and(|p| binary::find(p, root).is_some())
        });
        if let Some(index) = usable {
            let chosen = service.with_fallback(index);
            notes.push(FallbackChosen {
                service: service.name.clone(),
                missing: program.clone(),
                instead: chosen.command.first().cloned().unwrap_or_default(),
                why: service.fallbacks[index].why.clone(),
            });
            *service = chosen;
        }
    }
    notes
}

/// The services named, with every service they start after, in start order; all of
/// them when `names` is empty.
pub fn select(services: &[ResolvedService], names: &[String]) -> Result<Vec<ResolvedService>> {
    if names.is_empty() {
        return Ok(services.to_vec());
    }
    let by_name: BTreeMap<&str, &ResolvedService> =
        services.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut wanted = BTreeSet::new();
    let mut queue: Vec<&str> = Vec::new();
    for name in names {
        if !by_name.contains_key(name.as_str()) {
            bail!(
                "this project has no service `{name}`{}; its services: {}",
                suggestion(name, by_name.keys().copied()),
                services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        queue.push(name);
    }
    while let Some(name) = queue.pop() {
        if wanted.insert(name) {
            queue.extend(by_name[name].after.iter().map(String::as_str));
        }
    }
    Ok(services
        .iter()
        .filter(|s| wanted.contains(s.name.as_str()))
        .cloned()
        .collect())
}

/// `export KEY='value'` lines, quoted for any POSIX shell.
pub fn export_lines(env: &BTreeMap<String, String>) -> String {
    env.iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
        .collect()
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A command as a shell would need it typed: words quoted only where they must be.
pub fn shell_words(words: &[String]) -> String {
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+{}".contains(c))
    };
    words
        .iter()
        .map(|w| if plain(w) { w.clone() } else { shell_quote(w) })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, after: &[&str]) -> ResolvedService {
        ResolvedService {
            spec: crate::manifest::ServiceSpec::for_test(name, after),
            state: String::new(),
        }
    }

    #[test]
    fn a_fallback_runs_only_when_the_own_program_is_missing() {
        use crate::manifest::Fallback;
        let fallback = |program: &str| Fallback {
            command: vec![program.into(), "--serve".into()],
            why: "a stand-in".into(),
            ready: None,
            env: Some(BTreeMap::from([("K".to_string(), "v".to_string())])),
            init: None,
            setup: None,
        };
        let mut missing = svc("s3", &[]);
        missing.command = vec!["paxx-no-such-server".into()];
        missing.fallbacks = vec![fallback("paxx-no-such-either"), fallback("sh")];
        let mut present = svc("shell", &[]);
        present.command = vec!["sh".into()];
        present.fallbacks = vec![fallback("true")];
        let mut services = vec![missing, present.clone()];
        let notes = choose_fallbacks(&mut services, Path::new("/"));
        assert_eq!(services[0].command, ["sh", "--serve"]);
        assert_eq!(services[0].env["K"], "v");
        assert_eq!(services[1], present);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].service, "s3");
        assert_eq!(
            notes[0].to_string(),
            "s3: `paxx-no-such-server` not found; running `sh` instead (a stand-in)"
        );
    }

    #[test]
    fn selects_named_services_with_what_they_start_after() {
        let all = [svc("pg", &[]), svc("redis", &[]), svc("worker", &["redis"])];
        let names =
            |v: Vec<ResolvedService>| v.into_iter().map(|s| s.spec.name).collect::<Vec<_>>();
        assert_eq!(names(select(&all, &[]).unwrap()), ["pg", "redis", "worker"]);
        assert_eq!(
            names(select(&all, &["worker".into()]).unwrap()),
            ["redis", "worker"]
        );
        let err = select(&all, &["redsi".into()]).unwrap_err().to_string();
        assert!(err.contains("did you mean `redis`"), "{err}");
    }

    #[test]
    fn quotes_words_only_where_needed() {
        let words = ["redis-server", "--save", "", "it's"].map(String::from);
        assert_eq!(shell_words(&words), "redis-server --save '' 'it'\\''s'");
    }

    #[test]
    fn quotes_for_the_shell() {
        let env = BTreeMap::from([("A".to_string(), "it's $HOME".to_string())]);
        assert_eq!(export_lines(&env), "export A='it'\\''s $HOME'\n");
    }
}
