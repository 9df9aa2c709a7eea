//! `down`: stop what `up` started, call off pending restarts, and with `--clean` remove
//! the services' data.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::catalog::suggestion;
use crate::manifest::defaults;
use crate::manifest::StopSignal;
use crate::printer::{note, ExitStatus};
use crate::resolve::ResolvedService;
use crate::services::exits::{self, Next};
use crate::services::state::{self, Layout, PidRecord, Recorded};
use crate::services::{outside, process, Loaded};

pub use crate::services::runtime::{runtime, Runtime};

/// Stops the services `up` started (those named, or all), last started first. A
/// foreground `up` is asked to stop its own; the others are stopped here, and a
/// background supervisor left with nothing to watch is stopped too.
pub fn down(loaded: &Loaded, names: &[String], clean: bool) -> Result<ExitStatus> {
    let layout = loaded.layout();
    let known: BTreeMap<&str, &ResolvedService> = loaded
        .resolved
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    check_names(&layout, &known, names)?;
    let wanted = |name: &str| names.is_empty() || names.iter().any(|n| n == name);
    let mut did_something = false;
    if names.is_empty() {
        did_something |= stop_foreground(&layout, &loaded.resolved.services)?;
    }

    let (to_stop, called_off) = take_over(&layout, &wanted)?;
    let stopped: Vec<String> = to_stop.iter().map(|(n, _)| n.clone()).collect();
    for (name, record) in to_stop {
        did_something = true;
        stop_recorded(&name, record, known.get(name.as_str()).copied());
    }
    for name in &called_off {
        did_something = true;
        note!("{name}: its pending restart is called off");
    }
    for name in names {
        if !stopped.contains(name) && !called_off.contains(name) {
            note!("{name}: not running");
        }
    }
    release_idle_supervisors(&layout)?;
    if !did_something && !clean {
        note!("nothing is running");
    }
    if clean {
        for service in loaded.resolved.services.iter().filter(|s| wanted(&s.name)) {
            if let Some(note) = outside::clean(&loaded.root, service)? {
                note!("{note}");
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// A name that is neither the project's service nor one still recorded as running.
fn check_names(
    layout: &Layout,
    known: &BTreeMap<&str, &ResolvedService>,
    names: &[String],
) -> Result<()> {
    for name in names {
        if !known.contains_key(name.as_str()) && !layout.pid_file(name).exists() {
            bail!(
                "this project has no service `{name}`{}",
                suggestion(name, known.keys().copied())
            );
        }
    }
    Ok(())
}

/// A service's name and what its pid file said, taken by `down`.
type Taken = (String, Recorded);

/// Takes the wanted services' pid files (last started first) and calls off their pending
/// restarts, under the run lock: a supervisor then sees these stops as asked for, and a
/// restart it has pending finds its exit record gone. Returns what to stop and the names
/// whose restart was called off.
fn take_over(layout: &Layout, wanted: &dyn Fn(&str) -> bool) -> Result<(Vec<Taken>, Vec<String>)> {
    let lock = layout.run_lock()?;
    let mut to_stop = Vec::new();
    for (name, record) in state::recorded(layout)?.into_iter().rev() {
        if wanted(&name) {
            state::remove(&layout.pid_file(&name))?;
            to_stop.push((name, record));
        }
    }
    let mut called_off = Vec::new();
    for (name, record) in exits::all(layout) {
        if wanted(&name) {
            if record.next == Next::Restarting && state::is_alive(record.supervisor) {
                called_off.push(name.clone());
            }
            exits::remove(layout, &name)?;
        }
    }
    drop(lock);
    Ok((to_stop, called_off))
}

/// Stops one service whose pid file `down` took, with its manifest's signal and timeout
/// (the defaults for a service the project no longer has).
fn stop_recorded(name: &str, record: Recorded, service: Option<&ResolvedService>) {
    match record {
        Recorded::Running(r) => {
            let (signal, timeout) = service
                .map_or((StopSignal::Term, defaults::STOP_TIMEOUT), |s| {
                    (s.stop_signal, s.stop_timeout)
                });
            let killed = process::stop(r.pid, signal, Duration::from_secs(timeout), &mut || {
                !state::is_alive(r.pid)
            });
            note!(
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
            let pid = r.map_or("?".to_string(), |r| r.pid.to_string());
            note!("{name}: was not running (removed a stale pid file for pid {pid})");
        }
        Recorded::Absent => {}
    }
}

/// Asks each foreground `up` to stop its services and waits until it has; whether
/// there was one.
fn stop_foreground(layout: &Layout, services: &[ResolvedService]) -> Result<bool> {
    let mut any = false;
    for (file, record) in state::supervisors(layout)? {
        match record {
            Recorded::Running(r) if !r.detached => {
                any = true;
                note!(
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
            }
            Recorded::Running(_) => {}
            _ => state::remove(&file)?,
        }
    }
    Ok(any)
}

/// Stops the background supervisors (`up --detach`) that have no service left to watch
/// and no restart pending, rather than leave them to notice on their own.
fn release_idle_supervisors(layout: &Layout) -> Result<()> {
    let watched: Vec<i32> = state::recorded(layout)?
        .into_iter()
        .filter_map(|(_, r)| match r {
            Recorded::Running(PidRecord { supervisor, .. }) => supervisor,
            _ => None,
        })
        .chain(
            exits::all(layout)
                .into_iter()
                .filter(|(_, r)| r.next == Next::Restarting)
                .map(|(_, r)| r.supervisor),
        )
        .collect();
    for (file, record) in state::supervisors(layout)? {
        match record {
            Recorded::Running(r) if r.detached && !watched.contains(&r.pid) => {
                process::terminate(r.pid);
                if !process::wait_until(Duration::from_secs(10), &mut || !r.is_current()) {
                    note!(
                        "the background `paxx-compose up` (pid {}) did not stop within 10 s",
                        r.pid
                    );
                }
            }
            Recorded::Running(_) => {}
            _ => state::remove(&file)?,
        }
    }
    Ok(())
}
