//! `down`, and what `status` and `doctor` say about running services.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::catalog::suggestion;
use crate::manifest::StopSignal;
use crate::resolve::{ResolvedService, DEFAULT_STOP_TIMEOUT};
use crate::services::output::say;
use crate::services::state::{self, Layout, Recorded};
use crate::services::{process, ready, Loaded};

/// Stops the services `up` started (those named, or all), last started first. A
/// foreground `up` is asked to stop its own; detached ones are stopped here.
pub fn down(loaded: &Loaded, names: &[String]) -> Result<ExitCode> {
    let layout = loaded.layout();
    let known: BTreeMap<&str, &ResolvedService> = loaded
        .resolved
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut did_something = false;
    if names.is_empty() {
        did_something |= stop_supervisor(&layout, &loaded.resolved.services)?;
    }
    let recorded = state::recorded(&layout)?;
    for name in names {
        if !recorded.iter().any(|(n, _)| n == name) {
            if known.contains_key(name.as_str()) {
                say!("{name}: not running");
                continue;
            }
            bail!(
                "this project has no service `{name}`{}",
                suggestion(name, known.keys().copied())
            );
        }
    }
    for (name, record) in recorded.into_iter().rev() {
        if !names.is_empty() && !names.contains(&name) {
            continue;
        }
        let pid_file = layout.pid_file(&name);
        did_something = true;
        match record {
            Recorded::Running(r) => {
                // Removed first: a foreground `up` then knows this stop was asked for.
                state::remove(&pid_file)?;
                let (signal, timeout) = known
                    .get(name.as_str())
                    .map_or((StopSignal::Term, DEFAULT_STOP_TIMEOUT), |s| {
                        (s.stop_signal, s.stop_timeout)
                    });
                let killed =
                    process::stop(r.pid, signal, Duration::from_secs(timeout), &mut || {
                        !state::is_alive(r.pid)
                    });
                say!(
                    "{name}: stopped (pid {}){}",
                    r.pid,
                    if killed {
                        ", killed: it did not stop in time"
                    } else {
                        ""
                    }
                );
            }
            Recorded::Stale(r) => {
                state::remove(&pid_file)?;
                let pid = r.map_or("?".to_string(), |r| r.pid.to_string());
                say!("{name}: was not running (removed a stale pid file for pid {pid})");
            }
            Recorded::Absent => {}
        }
    }
    if !did_something {
        say!("nothing is running");
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks a foreground `up` to stop and waits until it has; whether there was one.
fn stop_supervisor(layout: &Layout, services: &[ResolvedService]) -> Result<bool> {
    let file = layout.supervisor_file();
    match state::check(&file)? {
        Recorded::Running(r) => {
            say!(
                "asking `paxx-compose up` (pid {}) to stop its services",
                r.pid
            );
            process::terminate(r.pid);
            let budget: u64 = services.iter().map(|s| s.stop_timeout + 5).sum();
            if !process::wait_until(Duration::from_secs(budget + 5), &mut || !r.is_current()) {
                bail!(
                    "`paxx-compose up` (pid {}) did not stop within {budget} s; stop it \
                     with `kill -9 {}`, then run `paxx-compose down` again",
                    r.pid,
                    r.pid
                );
            }
            Ok(true)
        }
        Recorded::Stale(_) => {
            state::remove(&file)?;
            Ok(false)
        }
        Recorded::Absent => Ok(false),
    }
}

/// A service as it is now.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Runtime {
    /// Its pid while running, from `.paxx/run/<name>.pid`.
    pub pid: Option<i32>,
    pub running: bool,
    /// Running and passing its readiness probe.
    pub healthy: bool,
    /// Started by `up --detach` (false: by a foreground `up`).
    pub detached: Option<bool>,
}

pub fn runtime(layout: &Layout, root: &Path, service: &ResolvedService) -> Result<Runtime> {
    Ok(match state::check(&layout.pid_file(&service.name))? {
        Recorded::Running(r) => Runtime {
            pid: Some(r.pid),
            running: true,
            healthy: ready::probe(service, root),
            detached: Some(r.detached),
        },
        _ => Runtime::default(),
    })
}
