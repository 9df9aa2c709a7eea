//! Spawning a service and its one-off steps (`init`, `setup`), and stopping it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::manifest::StopSignal;
use crate::services::account::{self, Account};
use crate::services::signals;

/// How long one `init` or `setup` command may take (initdb on a slow CI machine
/// takes tens of seconds; a command waiting for input would take forever).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(300);

/// What runs, as whom, where.
pub struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub account: Option<&'a Account>,
    pub cwd: &'a Path,
}

impl Launch<'_> {
    fn command(&self) -> Command {
        let mut command = Command::new(self.program);
        command
            .args(self.args)
            .envs(self.env)
            .current_dir(self.cwd)
            .stdin(Stdio::null());
        if let Some(account) = self.account {
            account::run_as(&mut command, account);
        }
        command
    }

    /// A service for a foreground `up`: in its own process group, so that Ctrl-C in the
    /// terminal reaches only paxx-compose, which then stops services last-started first.
    pub fn spawn_foreground(&self) -> io::Result<Child> {
        self.command()
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// A service for `up --detach`: in its own session, so it outlives the terminal,
    /// its output appended to its log.
    pub fn spawn_detached(&self, log: &File) -> io::Result<Child> {
        let mut command = self.command();
        command.stdout(log.try_clone()?).stderr(log.try_clone()?);
        // SAFETY: setsid is async-signal-safe, as code between fork and exec must be.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command.spawn()
    }

    /// Runs a one-off step to completion, stdout and stderr together; it is killed after
    /// STEP_TIMEOUT or on Ctrl-C.
    pub fn run_step(&self) -> Result<StepOutcome> {
        let account = self.account.cloned();
        let mut expression = duct::cmd(self.program, self.args)
            .dir(self.cwd)
            .stdin_null()
            .stderr_to_stdout()
            .stdout_capture()
            .unchecked()
            .before_spawn(move |command| {
                if let Some(account) = &account {
                    account::run_as(command, account);
                }
                Ok(())
            });
        for (key, value) in self.env {
            expression = expression.env(key, value);
        }
        let handle = expression
            .start()
            .with_context(|| format!("cannot run `{}`", self.program.display()))?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let done = handle
                .try_wait()
                .with_context(|| format!("cannot wait for `{}`", self.program.display()))?;
            if let Some(output) = done {
                return Ok(StepOutcome {
                    status: output.status.to_string(),
                    success: output.status.success(),
                    output: output.stdout.clone(),
                });
            }
            let why = if signals::requested() {
                "interrupted"
            } else if Instant::now() > deadline {
                "timed out"
            } else {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let _ = handle.kill();
            return Ok(StepOutcome {
                status: why.to_string(),
                success: false,
                output: handle.wait().map(|o| o.stdout.clone()).unwrap_or_default(),
            });
        }
    }
}

pub struct StepOutcome {
    pub success: bool,
    /// `exit status: 1`, `interrupted`, …
    pub status: String,
    pub output: Vec<u8>,
}

fn signal_number(signal: StopSignal) -> libc::c_int {
    match signal {
        StopSignal::Term => libc::SIGTERM,
        StopSignal::Int => libc::SIGINT,
        StopSignal::Quit => libc::SIGQUIT,
        StopSignal::Hup => libc::SIGHUP,
    }
}

/// Sends SIGTERM; false when there is no such process.
pub fn terminate(pid: i32) -> bool {
    // SAFETY: kill with a pid we recorded and checked.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

/// Asks `pid` to stop with `signal` and waits up to `timeout` for `gone()`; then
/// SIGKILLs its process group. Whatever is left in the group once the leader is gone
/// (helpers a wrapper script started) is killed too: each service leads its own group.
/// Returns true when SIGKILL was needed.
pub fn stop(
    pid: i32,
    signal: StopSignal,
    timeout: Duration,
    gone: &mut dyn FnMut() -> bool,
) -> bool {
    // SAFETY: plain kill/killpg calls with a pid we started (or recorded and checked).
    unsafe {
        libc::kill(pid, signal_number(signal));
    }
    let graceful = wait_until(timeout, gone);
    kill_group(pid);
    if !graceful {
        wait_until(Duration::from_secs(5), gone);
    }
    !graceful
}

/// SIGKILLs whatever is left in the process group `pgid` (a service leads its own).
pub fn kill_group(pgid: i32) {
    // SAFETY: killpg with a group a service of ours leads.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// Polls `done` until it holds or `timeout` passes; whether it held.
pub fn wait_until(timeout: Duration, done: &mut dyn FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
