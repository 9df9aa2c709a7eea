//! `up`: check everything first, start the services (side by side where `after` allows),
//! and either return once they are ready (`--detach`, leaving a background supervisor:
//! daemon.rs) or stay in the foreground showing their output until Ctrl-C, then stop
//! them last-started first.
//! While they run, watch.rs restarts those that fail.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, PoisonError};

use anyhow::{anyhow, bail, Context, Result};

use crate::printer::{note, ExitStatus};
use crate::resolve::ResolvedService;
use crate::services::exits::{self, Next};
use crate::services::output::Prefixes;
use crate::services::start::{Programs, Started, Starter};
use crate::services::state::{self, Layout, PidRecord, Recorded};
use crate::services::{account, binary, daemon, ready, signals, watch, Loaded};

/// How `up` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Output to the terminal until Ctrl-C.
    Foreground,
    /// `--detach`: start a background supervisor and return once it says all are ready.
    Detach,
    /// That background supervisor.
    Background,
}

pub fn up(loaded: &Loaded, names: &[String], mode: Mode) -> Result<ExitStatus> {
    if mode == Mode::Detach {
        return daemon::launch(&loaded.root, names);
    }
    let detach = mode == Mode::Background;
    let layout = loaded.layout();
    layout.prepare()?;
    let lock = layout.lock()?;
    let selected = super::select(&loaded.resolved.services, names)?;
    for note in &loaded.fallbacks {
        if selected.iter().any(|s| s.name == note.service) {
            note!("{note}");
        }
    }
    write_env(&layout, loaded)?;
    if selected.is_empty() {
        note!("this project has no services");
        return Ok(ExitStatus::Success);
    }

    let to_start = to_start(&layout, &selected)?;
    if to_start.is_empty() {
        note!("nothing to start; `paxx-compose down` stops the running services");
        return Ok(ExitStatus::Success);
    }
    let programs = preflight(loaded, &to_start)?;

    signals::install();
    let supervisor_file = layout.supervisor_file(std::process::id());
    state::write_pid(
        &supervisor_file,
        &PidRecord::new(std::process::id() as i32, 0, detach),
    )?;
    let prefixes = Prefixes::new(selected.iter().map(|s| s.name.as_str()));
    let starter = Starter {
        root: &loaded.root,
        layout: &layout,
        programs: &programs,
        detached: detach,
        prefixes: &prefixes,
    };
    let started = match start_all(&starter, &layout, &selected, &to_start) {
        Ok(started) => started,
        Err(err) => {
            let _ = state::remove(&supervisor_file);
            return Err(err);
        }
    };
    drop(lock);

    if detach {
        note!(
            "all ready; environment: eval \"$(paxx-compose env)\" (also in `.paxx/env`); \
             logs in `.paxx/logs/`; stop with `paxx-compose down`"
        );
        daemon::hand_off(&layout);
    } else {
        note!("all ready; Ctrl-C stops them (environment: eval \"$(paxx-compose env)\")");
    }
    let result = watch::watch(&starter, &layout, started);
    let _ = state::remove(&supervisor_file);
    result
}

/// The selected services that are not running yet and have no restart pending (by
/// another `up`), each noted; their records of an earlier run's end are removed.
fn to_start(layout: &Layout, selected: &[ResolvedService]) -> Result<Vec<ResolvedService>> {
    let mut to_start = Vec::new();
    // Under the run lock: a restart another `up` has pending must not race this start.
    let run_lock = layout.run_lock()?;
    for service in selected {
        let pid_file = layout.pid_file(&service.name);
        let pending = exits::read(layout, &service.name)
            .filter(|r| r.next == Next::Restarting && state::is_alive(r.supervisor));
        if let Some(r) = pending {
            note!(
                "{}: a restart is pending (by `paxx-compose up`, pid {}); `paxx-compose \
                 down {}` calls it off",
                service.name,
                r.supervisor,
                service.name
            );
            continue;
        }
        match state::check(&pid_file)? {
            Recorded::Running(r) => {
                note!("{}: already running (pid {})", service.name, r.pid);
            }
            Recorded::Stale(r) => {
                state::remove(&pid_file)?;
                let pid = r.map_or("?".to_string(), |r| r.pid.to_string());
                note!(
                    "{}: removed a stale pid file (pid {pid} is no longer running)",
                    service.name
                );
                to_start.push(service.clone());
            }
            Recorded::Absent => to_start.push(service.clone()),
        }
    }
    for service in &to_start {
        // A new start: how an earlier run ended is history now.
        exits::remove(layout, &service.name)?;
    }
    drop(run_lock);
    Ok(to_start)
}

/// Starts `to_start` side by side, each service in a thread of its own once every
/// service it names in `after` that this `up` starts is ready (one running already
/// holds nothing up). After a failure nothing more starts; what did start is stopped
/// again and the first error, in start order, is returned.
fn start_all(
    starter: &Starter,
    layout: &Layout,
    selected: &[ResolvedService],
    to_start: &[ResolvedService],
) -> Result<Vec<Started>> {
    let waits_for: Vec<Vec<usize>> = to_start
        .iter()
        .map(|service| {
            (service.after.iter())
                .filter_map(|name| to_start.iter().position(|s| &s.name == name))
                .collect()
        })
        .collect();
    // Numbered in start order (`down` stops the last first); no other `up` starts
    // services meanwhile: the caller holds the project's lock.
    let first_seq = state::next_seq(layout)?;
    let progress = Mutex::new(vec![Progress::Waiting; to_start.len()]);
    let changed = Condvar::new();
    let start_one = |i: usize| -> Option<Result<Started>> {
        if !wait_for_turn(&progress, &changed, &waits_for[i]) {
            set_progress(&progress, &changed, i, Progress::Failed);
            return None;
        }
        let service = &to_start[i];
        let index = selected.iter().position(|s| s.name == service.name);
        let gate = || layout.run_lock().map(Some);
        // A panic must still say "failed": the services waiting for this one would wait
        // forever otherwise.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            starter.start(service, index.unwrap_or(0), first_seq + i as u64, 0, &gate)
        }))
        .unwrap_or_else(|_| Err(anyhow!("{}: its start panicked", service.name)));
        let done = if outcome.is_ok() {
            Progress::Ready
        } else {
            Progress::Failed
        };
        set_progress(&progress, &changed, i, done);
        Some(outcome)
    };
    let outcomes: Vec<Option<Result<Started>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..to_start.len())
            .map(|i| scope.spawn(move || start_one(i)))
            .collect();
        (threads.into_iter().zip(to_start))
            .map(|(thread, service)| {
                (thread.join())
                    .unwrap_or_else(|_| Some(Err(anyhow!("{}: its start panicked", service.name))))
            })
            .collect()
    });
    let mut started = Vec::new();
    let mut first_error = None;
    for outcome in outcomes.into_iter().flatten() {
        match outcome {
            Ok(s) => started.push(s),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => {
            watch::stop_all(layout, &mut started);
            Err(err)
        }
        None => Ok(started),
    }
}

/// Where a service of this `up` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Waiting,
    Ready,
    Failed,
}

/// What a waiting service does, given where the services it waits for are and whether
/// any start has failed.
fn turn(progress: &[Progress], waits_for: &[usize]) -> Option<bool> {
    if progress.contains(&Progress::Failed) {
        return Some(false);
    }
    waits_for
        .iter()
        .all(|&i| progress[i] == Progress::Ready)
        .then_some(true)
}

/// Blocks until the services in `waits_for` are ready (true) or a start failed (false).
fn wait_for_turn(progress: &Mutex<Vec<Progress>>, changed: &Condvar, waits_for: &[usize]) -> bool {
    let mut now = progress.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(go) = turn(&now, waits_for) {
            return go;
        }
        now = changed.wait(now).unwrap_or_else(PoisonError::into_inner);
    }
}

fn set_progress(progress: &Mutex<Vec<Progress>>, changed: &Condvar, i: usize, to: Progress) {
    progress.lock().unwrap_or_else(PoisonError::into_inner)[i] = to;
    changed.notify_all();
}

/// Everything that can be known before starting anything: programs, ports, accounts.
/// All problems are reported together, and nothing was started.
fn preflight(loaded: &Loaded, services: &[ResolvedService]) -> Result<Programs> {
    let mut programs = Programs::new();
    let mut problems = Vec::new();
    let mut ports: BTreeMap<u16, &str> = BTreeMap::new();
    for service in services {
        let account = account::for_service(service).unwrap_or_else(|err| {
            problems.push(format!("{err:#}"));
            None
        });
        for program in binary::programs(service) {
            match binary::find_for(&program, &loaded.root, account.as_ref()) {
                Ok(found) => {
                    programs.insert((service.name.clone(), program), found.path);
                }
                Err(Some(path)) => problems.push(binary::not_runnable(
                    &path,
                    service,
                    account.as_ref().expect("only an account refuses"),
                )),
                Err(None) => problems.push(binary::missing(&program, service)),
            }
        }
        if let Some(port) = service.port {
            if let Some(other) = ports.insert(port, &service.name) {
                problems.push(format!(
                    "services `{other}` and `{}` both want port {port}; give one another \
                     port in paxx.toml:\n    [ports]\n    {} = {}",
                    service.name,
                    service.name,
                    free_port_near(port)
                ));
            } else if ready::port_in_use(port) {
                problems.push(port_in_use(&service.name, port));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}\nnothing was started", problems.join("\n"));
    }
    Ok(programs)
}

pub fn port_in_use(service: &str, port: u16) -> String {
    format!(
        "port {port} for service `{service}` is already in use by another program; stop \
         that program, or give `{service}` another port in paxx.toml:\n    [ports]\n    \
         {service} = {}",
        free_port_near(port)
    )
}

/// A free port just above `port`, to suggest.
pub fn free_port_near(port: u16) -> u16 {
    (port.saturating_add(1)..=port.saturating_add(200))
        .find(|p| !ready::port_in_use(*p))
        .unwrap_or(port.saturating_add(1))
}

fn write_env(layout: &Layout, loaded: &Loaded) -> Result<()> {
    let path = layout.env_file();
    std::fs::write(&path, super::export_lines(&loaded.resolved.env))
        .with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::turn;
    use super::Progress::{Failed, Ready, Waiting};

    #[test]
    fn a_service_starts_once_those_it_waits_for_are_ready() {
        // postgres, redis, minio, worker (after postgres and redis)
        assert_eq!(turn(&[Waiting, Waiting, Waiting, Waiting], &[]), Some(true));
        assert_eq!(turn(&[Waiting, Waiting, Waiting, Waiting], &[0, 1]), None);
        assert_eq!(turn(&[Ready, Waiting, Waiting, Waiting], &[0, 1]), None);
        // minio still starting does not hold the worker up
        assert_eq!(turn(&[Ready, Ready, Waiting, Waiting], &[0, 1]), Some(true));
    }

    #[test]
    fn after_a_failure_nothing_more_starts() {
        assert_eq!(turn(&[Ready, Ready, Failed, Waiting], &[0, 1]), Some(false));
        assert_eq!(turn(&[Failed, Waiting], &[]), Some(false));
    }
}
