//! `up`: check everything first, start the services (side by side where `after` allows),
//! and either return once they are ready (`--detach`, leaving a background supervisor:
//! daemon.rs) or stay in the foreground showing their output until Ctrl-C, then stop
//! them last-started first.
//! While they run, watch.rs restarts those that fail.

use std::collections::BTreeMap;

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
    let started = match start_in_waves(&starter, &layout, &selected, &to_start) {
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

/// Starts `to_start` in waves (`waves`): the services of a wave side by side, each wave
/// once the one before is ready; on a failure the ones started, and those that did
/// start in the failing wave, are stopped again and the first error (in start order) is
/// returned.
fn start_in_waves(
    starter: &Starter,
    layout: &Layout,
    selected: &[ResolvedService],
    to_start: &[ResolvedService],
) -> Result<Vec<Started>> {
    let mut started: Vec<Started> = Vec::new();
    for wave in waves(to_start) {
        let mut first_error = None;
        for attempt in start_wave(starter, layout, selected, &wave) {
            match attempt {
                Ok(s) => started.push(s),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        if let Some(err) = first_error {
            watch::stop_all(layout, &mut started);
            return Err(err);
        }
    }
    Ok(started)
}

/// Starts one wave, each service in a thread of its own (a wave of one in this thread),
/// and returns their outcomes in the wave's order.
fn start_wave(
    starter: &Starter,
    layout: &Layout,
    selected: &[ResolvedService],
    wave: &[&ResolvedService],
) -> Vec<Result<Started>> {
    let start_one = |service: &ResolvedService, seq: Result<u64>| -> Result<Started> {
        let index = selected.iter().position(|s| s.name == service.name);
        let gate = || layout.run_lock().map(Some);
        starter.start(service, index.unwrap_or(0), seq?, 0, &gate)
    };
    // Sequence numbers one at a time: they come from one file.
    let seqs: Vec<Result<u64>> = wave.iter().map(|_| state::next_seq(layout)).collect();
    if wave.len() == 1 {
        return wave
            .iter()
            .zip(seqs)
            .map(|(s, seq)| start_one(s, seq))
            .collect();
    }
    std::thread::scope(|scope| {
        let threads: Vec<_> = wave
            .iter()
            .zip(seqs)
            .map(|(service, seq)| scope.spawn(move || start_one(service, seq)))
            .collect();
        threads
            .into_iter()
            .zip(wave)
            .map(|(thread, service)| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err(anyhow!("{}: its start panicked", service.name)))
            })
            .collect()
    })
}

/// `to_start` (in start order: a service after those it names in `after`) grouped in
/// waves: a service joins the wave after the last of those it names that this `up`
/// starts; one that is running already holds nothing up. Within a wave, start order.
fn waves(to_start: &[ResolvedService]) -> Vec<Vec<&ResolvedService>> {
    let mut wave_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut waves: Vec<Vec<&ResolvedService>> = Vec::new();
    for service in to_start {
        let wave = service
            .after
            .iter()
            .filter_map(|name| wave_of.get(name.as_str()))
            .map(|w| w + 1)
            .max()
            .unwrap_or(0);
        wave_of.insert(&service.name, wave);
        if waves.len() <= wave {
            waves.resize_with(wave + 1, Vec::new);
        }
        waves[wave].push(service);
    }
    waves
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
    use super::waves;
    use crate::manifest::ServiceSpec;
    use crate::resolve::ResolvedService;

    fn svc(name: &str, after: &[&str]) -> ResolvedService {
        ResolvedService {
            spec: ServiceSpec::for_test(name, after),
            state: String::new(),
        }
    }

    fn names(to_start: &[ResolvedService]) -> Vec<Vec<&str>> {
        waves(to_start)
            .iter()
            .map(|wave| wave.iter().map(|s| s.name.as_str()).collect())
            .collect()
    }

    #[test]
    fn services_that_wait_for_nothing_start_together() {
        let all = [
            svc("postgres", &[]),
            svc("smtp", &[]),
            svc("redis", &[]),
            svc("minio", &[]),
            svc("worker", &["postgres", "redis"]),
        ];
        assert_eq!(
            names(&all),
            [vec!["postgres", "smtp", "redis", "minio"], vec!["worker"]]
        );
    }

    #[test]
    fn a_chain_starts_one_wave_per_link() {
        let all = [
            svc("a", &[]),
            svc("b", &["a"]),
            svc("c", &["b"]),
            svc("d", &["a"]),
        ];
        assert_eq!(names(&all), [vec!["a"], vec!["b", "d"], vec!["c"]]);
    }

    #[test]
    fn a_service_already_running_holds_nothing_up() {
        // `redis` is running: not among those to start.
        let to_start = [svc("postgres", &[]), svc("worker", &["postgres", "redis"])];
        assert_eq!(names(&to_start), [vec!["postgres"], vec!["worker"]]);
        let to_start = [svc("worker", &["redis"])];
        assert_eq!(names(&to_start), [vec!["worker"]]);
    }
}
