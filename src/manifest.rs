//! The manifests that describe templates and modules, as read from TOML.
//!
//! The same files are read by `devshells/*.nix` through `builtins.fromTOML`, so the
//! shape here is the contract documented in `docs/formats.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `modules/<name>/module.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModuleManifest {
    pub module: ModuleInfo,
    #[serde(default)]
    pub python: PythonDeps,
    #[serde(default)]
    pub nix: NixPackages,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Extra files: project path → source path inside the module folder (for files kept
    /// outside `files/`, e.g. one source shared by several targets).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Steps `upgrade` applies, in order of version, to a project whose recorded version of
    /// this module is lower: files and settings the module renamed.
    #[serde(default)]
    pub migrations: Vec<Migration>,
}

/// `[[migrations]]`: what changed name in `version` of a module.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Migration {
    /// The module version that made the change (at most `[module].version`).
    pub version: u32,
    /// Project paths: old → new. The user's file moves with its edits before merging.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Settings: old key → new key, in `.env.example` and `.env`.
    #[serde(default)]
    pub env_rename: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModuleInfo {
    pub name: String,
    #[serde(default = "default_version")]
    pub version: u32,
    pub summary: String,
    pub templates: Vec<String>,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<String>,
}

fn default_version() -> u32 {
    1
}

/// `templates/<name>.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TemplateManifest {
    pub template: TemplateInfo,
    #[serde(default)]
    pub python: PythonDeps,
    #[serde(default)]
    pub nix: NixPackages,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The lines of the template's files that show the project's name, by project path;
    /// `{name}` marks where it goes. `new` and `init` write the name there.
    #[serde(default)]
    pub names: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TemplateInfo {
    pub name: String,
    pub summary: String,
    /// Project-relative path of the file regenerated from the feature list.
    pub registry: String,
    /// minijinja file beside the manifest that renders the registry.
    pub registry_template: String,
    /// Project README that gets one section per enabled feature between markers.
    #[serde(default)]
    pub readme: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PythonDeps {
    #[serde(default)]
    pub requires_python: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub dev_dependencies: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NixPackages {
    #[serde(default)]
    pub packages: Vec<String>,
}

/// A long-running process `paxx-compose up` starts (a database, a cache, a worker): as
/// written in a manifest, and, with placeholders filled (`fill`), as resolved for a
/// project (`crate::resolve::ResolvedService`). Read in kebab-case like every manifest key;
/// written in snake_case, the shape of `status --json` and of the Nix reader's output.
/// A new field goes here, in `devshells/lib/manifests.nix` and in their agreement test.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct ServiceSpec {
    pub name: String,
    /// nixpkgs attribute that provides `command[0]`; absent for project processes (a worker).
    #[serde(default)]
    pub package: Option<String>,
    /// Debian package that provides `command[0]`.
    #[serde(default)]
    pub debian: Option<String>,
    pub command: Vec<String>,
    /// Commands run once, in order, when the state folder is new (e.g. `initdb`).
    #[serde(default)]
    pub init: Vec<Vec<String>>,
    /// Commands run after every start, once the service is ready (e.g. create a database).
    #[serde(default)]
    pub setup: Vec<Vec<String>>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub ready: Option<Readiness>,
    /// The program refuses to run as root (PostgreSQL): run it as an unprivileged account then.
    #[serde(default)]
    pub refuses_root: bool,
    /// Extra environment for the process itself.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Signal that asks the service to stop; PostgreSQL wants `INT` (its `TERM` waits
    /// for every client to disconnect).
    #[serde(default)]
    pub stop_signal: StopSignal,
    /// Seconds to wait for readiness before giving up.
    #[serde(default = "defaults::ready_timeout")]
    pub ready_timeout: u64,
    /// Seconds one run of the `ready` command may take before it is stopped and counts
    /// as not ready yet: a probe that is slow has not failed.
    #[serde(default = "defaults::probe_timeout")]
    pub probe_timeout: u64,
    /// Seconds between the stop signal and SIGKILL.
    #[serde(default = "defaults::stop_timeout")]
    pub stop_timeout: u64,
    /// Tried in order when `command[0]` is not found.
    #[serde(default)]
    pub fallbacks: Vec<Fallback>,
    /// What `up` does when the service exits without being asked to (default on-failure).
    #[serde(default)]
    pub restart: Restart,
    /// Restarts in a row before `up` gives up on the service.
    #[serde(default = "defaults::restart_retries")]
    pub restart_retries: u32,
    /// Seconds before the first restart, doubled for each further one.
    #[serde(default = "defaults::restart_delay")]
    pub restart_delay: u64,
}

/// A service's values when its manifest does not say (`devshells/lib/manifests.nix` has
/// the same numbers).
pub mod defaults {
    /// Seconds `up` waits for a service to become ready. Generous: only a service that
    /// hangs waits this long (one that exits is seen at once).
    pub const READY_TIMEOUT: u64 = 120;
    /// Seconds one readiness probe may run: a probe that starts Python and imports an app
    /// (`uv run … arq --check`) takes 6–7 s on a loaded 2-core machine, so a few seconds
    /// would make a slow probe look like a failing one.
    pub const PROBE_TIMEOUT: u64 = 30;
    /// Seconds `down` waits after the stop signal before SIGKILL.
    pub const STOP_TIMEOUT: u64 = 10;
    /// Restarts in a row before `up` gives up on a service that keeps failing.
    pub const RESTART_RETRIES: u32 = 5;
    /// Seconds before the first restart; doubled for each further one.
    pub const RESTART_DELAY: u64 = 1;

    pub fn ready_timeout() -> u64 {
        READY_TIMEOUT
    }
    pub fn probe_timeout() -> u64 {
        PROBE_TIMEOUT
    }
    pub fn stop_timeout() -> u64 {
        STOP_TIMEOUT
    }
    pub fn restart_retries() -> u32 {
        RESTART_RETRIES
    }
    pub fn restart_delay() -> u64 {
        RESTART_DELAY
    }
}

type Fill<'a> = dyn Fn(&str) -> anyhow::Result<String> + 'a;

impl ServiceSpec {
    /// This service with `fill` applied to every text a placeholder may stand in: its
    /// commands, readiness probe, environment and fallbacks.
    pub fn fill(&self, fill: &Fill) -> anyhow::Result<ServiceSpec> {
        Ok(ServiceSpec {
            command: fill_words(&self.command, fill)?,
            init: fill_commands(&self.init, fill)?,
            setup: fill_commands(&self.setup, fill)?,
            ready: self.ready.as_ref().map(|r| r.fill(fill)).transpose()?,
            env: fill_env(&self.env, fill)?,
            fallbacks: self
                .fallbacks
                .iter()
                .map(|f| f.fill(fill))
                .collect::<anyhow::Result<_>>()?,
            ..self.clone()
        })
    }

    /// This service running its `index`th fallback instead of its own command: each field
    /// the fallback gives replaces the service's own.
    pub fn with_fallback(&self, index: usize) -> ServiceSpec {
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

fn fill_words(words: &[String], fill: &Fill) -> anyhow::Result<Vec<String>> {
    words.iter().map(|w| fill(w)).collect()
}

fn fill_commands(commands: &[Vec<String>], fill: &Fill) -> anyhow::Result<Vec<Vec<String>>> {
    commands.iter().map(|c| fill_words(c, fill)).collect()
}

fn fill_env(
    env: &BTreeMap<String, String>,
    fill: &Fill,
) -> anyhow::Result<BTreeMap<String, String>> {
    env.iter().map(|(k, v)| Ok((k.clone(), fill(v)?))).collect()
}

/// The restart policy of a service that exits on its own.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Left stopped; a foreground `up` then stops the others.
    Never,
    /// Restarted, after a growing delay, when it exits with an error or is killed by a
    /// signal (an exit with status 0 is left alone).
    #[default]
    OnFailure,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum StopSignal {
    #[default]
    #[serde(rename = "TERM")]
    Term,
    #[serde(rename = "INT")]
    Int,
    #[serde(rename = "QUIT")]
    Quit,
    #[serde(rename = "HUP")]
    Hup,
}

/// What to run instead of a service's command when its program is not found: for a
/// server whose Nix package has no Debian counterpart (MinIO → moto, Mailpit → aiosmtpd).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    pub command: Vec<String>,
    /// Said to the user when the fallback runs.
    pub why: String,
    /// Each given field replaces the service's own while this fallback runs.
    #[serde(default)]
    pub ready: Option<Readiness>,
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub init: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub setup: Option<Vec<Vec<String>>>,
}

impl Fallback {
    fn fill(&self, fill: &Fill) -> anyhow::Result<Fallback> {
        Ok(Fallback {
            command: fill_words(&self.command, fill)?,
            why: self.why.clone(),
            ready: self.ready.as_ref().map(|r| r.fill(fill)).transpose()?,
            env: self.env.as_ref().map(|e| fill_env(e, fill)).transpose()?,
            init: self
                .init
                .as_deref()
                .map(|c| fill_commands(c, fill))
                .transpose()?,
            setup: self
                .setup
                .as_deref()
                .map(|c| fill_commands(c, fill))
                .transpose()?,
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Readiness {
    /// Ready once the service's port accepts a TCP connection.
    #[serde(default)]
    pub tcp: bool,
    /// Ready once this command exits 0 (placeholders allowed).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Ready once this key exists in a Redis: a worker that marks itself alive there
    /// (arq's health-check key), asked by `up` itself rather than by a program that would
    /// have to start Python and import the app for every look.
    #[serde(default)]
    pub redis_key: Option<RedisKey>,
}

/// A key in the Redis at `url` (`redis://[:password@]host:port[/db]`; placeholders allowed
/// in both).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedisKey {
    pub url: String,
    pub key: String,
}

#[cfg(test)]
impl ServiceSpec {
    /// A service with a name, the command `x` and what it starts after; every other field
    /// as in a manifest that does not say, so a new field changes no test.
    pub fn for_test(name: &str, after: &[&str]) -> ServiceSpec {
        let after: Vec<String> = after.iter().map(|a| format!("{a:?}")).collect();
        let text = format!(
            "name = {name:?}\ncommand = [\"x\"]\nafter = [{}]\n",
            after.join(", ")
        );
        toml::from_str(&text).expect("a minimal service")
    }
}

impl Readiness {
    fn fill(&self, fill: &Fill) -> anyhow::Result<Readiness> {
        Ok(Readiness {
            tcp: self.tcp,
            command: self
                .command
                .as_deref()
                .map(|c| fill_words(c, fill))
                .transpose()?,
            redis_key: self
                .redis_key
                .as_ref()
                .map(|k| -> anyhow::Result<RedisKey> {
                    Ok(RedisKey {
                        url: fill(&k.url)?,
                        key: fill(&k.key)?,
                    })
                })
                .transpose()?,
        })
    }
}
