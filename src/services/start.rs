//! Starting one service: its state folder (and `init` the first time), the process,
//! the wait for readiness, then `setup`. A failure at any point leaves it stopped.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::printer::note;
use crate::resolve::ResolvedService;
use crate::services::account::{self, Account};
use crate::services::output::{self, Prefixes, SharedLog};
use crate::services::process::{self, Launch};
use crate::services::state::{self, Layout, PidRecord};
use crate::services::{outside, ready, signals};

/// The path of each program, by service and program name, found before anything starts.
pub type Programs = BTreeMap<(String, String), PathBuf>;

/// Pauses between readiness checks: short at first, as most services are ready within a
/// fraction of a second (Redis, PostgreSQL), then doubled up to `POLL_MAX`.
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(100);

/// Lines of a log shown when a service fails.
pub const TAIL: usize = 20;

/// A service this `up` started and still answers for.
pub struct Started {
    pub name: String,
    pub pid: i32,
    pub child: Child,
    pumps: Vec<JoinHandle<()>>,
    pub service: ResolvedService,
    /// Its place among the services `up` was asked for (its colour).
    pub index: usize,
    /// Restarts in a row before this run.
    pub restarts: u32,
    pub began: Instant,
}

impl Started {
    /// Waits (briefly) for its output to reach the log, after it exited.
    pub fn drain(&mut self) {
        join_for(&mut self.pumps, Duration::from_secs(1));
    }
}

/// Returned by `start` when its gate says no: a restart that `down` called off.
#[derive(Debug)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Taken just before the process starts, held until its pid file is written: the run
/// lock (state.rs), or None when the start is off.
pub type Gate<'g> = &'g dyn Fn() -> Result<Option<File>>;

pub struct Starter<'a> {
    pub root: &'a Path,
    pub layout: &'a Layout,
    pub programs: &'a Programs,
    pub detached: bool,
    pub prefixes: &'a Prefixes,
}

impl Starter<'_> {
    /// Starts `service` (`restarts` > 0: again, after it exited on its own), once `gate`
    /// lets it.
    pub fn start(
        &self,
        service: &ResolvedService,
        index: usize,
        seq: u64,
        restarts: u32,
        gate: Gate,
    ) -> Result<Started> {
        let name = &service.name;
        let prefix = self.prefixes.prefix(name, index);
        let account = account::for_service(service)?;
        let fresh = self.prepare_state(service, account.as_ref())?;
        let log_path = self.layout.log_file(name);
        let log = open_log(&log_path, restarts == 0)?;
        if fresh && !service.init.is_empty() {
            self.initialise(service, account.as_ref(), &log, &prefix)?;
        }

        let Some(lock) = gate()? else {
            return Err(Cancelled.into());
        };
        let launch = self.launch(service, &service.command, account.as_ref());
        let (child, pumps) = self
            .spawn(&launch, &log, &prefix)
            .with_context(|| format!("{name}: cannot start `{}`", service.command.join(" ")))?;
        let pid = child.id() as i32;
        let mut started = Started {
            name: name.clone(),
            pid,
            child,
            pumps,
            service: service.clone(),
            index,
            restarts,
            began: Instant::now(),
        };
        let record = PidRecord {
            restarts,
            supervisor: Some(std::process::id() as i32),
            ..PidRecord::new(pid, seq, self.detached)
        };
        let written = state::write_pid(&self.layout.pid_file(name), &record);
        drop(lock);
        let result = written
            .and_then(|()| self.wait_ready(service, &mut started, &log_path))
            .and_then(|took| {
                for step in &service.setup {
                    self.step(service, step, account.as_ref(), &log, &prefix)
                        .with_context(|| format!("{name}: setting up failed"))?;
                }
                Ok(took)
            });
        match result {
            Ok(took) => {
                let on = service
                    .port
                    .map_or(String::new(), |p| format!(" on 127.0.0.1:{p}"));
                note!("{name}: ready{on} (pid {pid}, {:.1} s)", took.as_secs_f64());
                Ok(started)
            }
            Err(err) => {
                stop_started(self.layout, &mut started);
                Err(err)
            }
        }
    }

    /// The service's state folder, made (and handed to its account) if need be; whether
    /// it is new, so that `init` runs.
    fn prepare_state(&self, service: &ResolvedService, account: Option<&Account>) -> Result<bool> {
        let state_dir = Path::new(&service.state);
        if outside::is_outside(self.root, service) {
            if let Some(note) = outside::prepare(self.root, service)? {
                note!("{note}");
            }
        }
        let fresh = is_fresh(state_dir)?;
        fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create `{}`", state_dir.display()))?;
        if let Some(account) = account {
            account::hand_over(account, state_dir, &self.layout.dot())?;
            note!(
                "{}: running as `{}` (it refuses root)",
                service.name,
                account.name
            );
        }
        Ok(fresh)
    }

    /// Runs the `init` steps in a new state folder; a failed one removes the folder, so
    /// that the next `up` starts afresh rather than from half an initialisation.
    fn initialise(
        &self,
        service: &ResolvedService,
        account: Option<&Account>,
        log: &SharedLog,
        prefix: &str,
    ) -> Result<()> {
        let name = &service.name;
        let state_dir = Path::new(&service.state);
        note!(
            "{name}: first start, initialising `{}`",
            state_dir.display()
        );
        for step in &service.init {
            if let Err(err) = self.step(service, step, account, log, prefix) {
                let _ = fs::remove_dir_all(state_dir);
                return Err(err.context(format!(
                    "{name}: initialising failed; removed `{}` so that the next `up` \
                     starts it afresh",
                    state_dir.display()
                )));
            }
        }
        Ok(())
    }

    /// Detached: output straight to the log. Foreground: through pipes, to the log and
    /// to the terminal behind the prefix.
    fn spawn(
        &self,
        launch: &Launch,
        log: &SharedLog,
        prefix: &str,
    ) -> Result<(Child, Vec<JoinHandle<()>>)> {
        if self.detached {
            let file = log.lock().map_err(|_| anyhow!("log lock poisoned"))?;
            return Ok((launch.spawn_detached(&file)?, Vec::new()));
        }
        let mut child = launch.spawn_foreground()?;
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(output::pump(out, log.clone(), prefix.to_string()));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(output::pump(err, log.clone(), prefix.to_string()));
        }
        Ok((child, pumps))
    }

    fn launch<'b>(
        &'b self,
        service: &'b ResolvedService,
        command: &'b [String],
        account: Option<&'b Account>,
    ) -> Launch<'b> {
        Launch {
            program: &self.programs[&(service.name.clone(), command[0].clone())],
            args: &command[1..],
            env: &service.env,
            account,
            // An account other than the user's may not enter the project; its state it can.
            cwd: if account.is_some() {
                Path::new(&service.state)
            } else {
                self.root
            },
        }
    }

    /// Runs an `init` or `setup` command; its output goes to the log (and, in the
    /// foreground, to the terminal).
    fn step(
        &self,
        service: &ResolvedService,
        command: &[String],
        account: Option<&Account>,
        log: &SharedLog,
        prefix: &str,
    ) -> Result<()> {
        let outcome = self.launch(service, command, account).run_step()?;
        if let Ok(mut file) = log.lock() {
            use std::io::Write;
            let _ = file.write_all(&outcome.output);
        }
        if !self.detached {
            output::echo(prefix, &outcome.output);
        }
        if outcome.success {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&outcome.output);
        let lines: Vec<&str> = text.lines().collect();
        bail!(
            "`{}` failed ({}){}",
            command.join(" "),
            outcome.status,
            if lines.is_empty() {
                " without output".to_string()
            } else {
                format!(
                    ":\n    {}",
                    lines[lines.len().saturating_sub(TAIL)..].join("\n    ")
                )
            }
        )
    }

    fn wait_ready(
        &self,
        service: &ResolvedService,
        started: &mut Started,
        log: &Path,
    ) -> Result<Duration> {
        let began = Instant::now();
        let timeout = Duration::from_secs(service.ready_timeout);
        let has_probe = match &service.ready {
            Some(r) => r.tcp || r.command.is_some() || r.redis_key.is_some(),
            None => service.port.is_some(),
        };
        let mut said_slow = false;
        let mut pause = POLL_FIRST;
        loop {
            let exited = started
                .child
                .try_wait()
                .with_context(|| format!("cannot wait for {}", service.name))?;
            if let Some(status) = exited {
                join_for(&mut started.pumps, Duration::from_secs(1));
                bail!(
                    "{} exited while starting ({status})\n{}",
                    service.name,
                    output::tail_note(log, TAIL)
                );
            }
            if signals::requested() {
                bail!("interrupted while {} was starting", service.name);
            }
            // Without a probe, staying up for half a second is the best sign there is.
            let outcome = if has_probe {
                ready::check(service, self.root)
            } else if began.elapsed() > Duration::from_millis(500) {
                ready::Outcome::Ready
            } else {
                ready::Outcome::PortClosed(None)
            };
            if outcome.is_ready() {
                return Ok(began.elapsed());
            }
            if matches!(outcome, ready::Outcome::TimedOut { .. }) && !said_slow {
                said_slow = true;
                note!(
                    "{}: still waiting: {}",
                    service.name,
                    outcome.explain(service)
                );
            }
            // A probe that started in time may finish late: a slow probe has not failed.
            if began.elapsed() > timeout {
                bail!(
                    "{} did not become ready within {} s (`ready-timeout`; raise it in the \
                     service's manifest if it needs longer): {}\n{}",
                    service.name,
                    service.ready_timeout,
                    outcome.explain(service),
                    output::tail_note(log, TAIL)
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(POLL_MAX);
        }
    }
}

/// Stops a service this `up` started and forgets its pid file; true when it needed SIGKILL.
pub fn stop_started(layout: &Layout, started: &mut Started) -> bool {
    let child = &mut started.child;
    let killed = if matches!(child.try_wait(), Ok(None)) {
        process::stop(
            started.pid,
            started.service.stop_signal,
            Duration::from_secs(started.service.stop_timeout),
            &mut || !matches!(child.try_wait(), Ok(None)),
        )
    } else {
        // Already exited and reaped: its pid may name another process by now; only
        // what it left in its group remains to go.
        process::kill_group(started.pid);
        false
    };
    join_for(&mut started.pumps, Duration::from_secs(2));
    let _ = state::remove(&layout.pid_file(&started.name));
    killed
}

/// Joins the output threads that finish within `timeout`; a process the service left
/// behind may hold a pipe open for ever, and must not hold us.
pub fn join_for(pumps: &mut Vec<JoinHandle<()>>, timeout: Duration) {
    process::wait_until(timeout, &mut || pumps.iter().all(JoinHandle::is_finished));
    for pump in pumps.drain(..) {
        if pump.is_finished() {
            let _ = pump.join();
        }
    }
}

/// New: missing, or an empty folder.
fn is_fresh(dir: &Path) -> Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", dir.display())),
    }
}

/// Opens the service's log for this run, keeping the previous run's as `<name>.log.1`
/// (`rotate`; a restart goes on in the same log, below the lines that tell why).
fn open_log(path: &Path, rotate: bool) -> Result<SharedLog> {
    if rotate && path.exists() {
        let previous = path.with_extension("log.1");
        fs::rename(path, &previous)
            .with_context(|| format!("cannot rename `{}`", path.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    Ok(Arc::new(Mutex::new(file)))
}
