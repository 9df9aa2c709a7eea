//! `up --detach`: the supervisor runs on in the background, so that a service that exits
//! is noticed at once and restarted (a process can only wait for its own children). The
//! `up` the user started runs that supervisor (`up --background`, in a session of its
//! own), shows what it says until it says all are ready, and returns; a failure to start
//! ends the supervisor, and `up` exits with its code.

use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::printer::{self, note, warning, ExitStatus};
use crate::services::state::Layout;
use crate::services::{process, signals};

/// The line the background supervisor writes once every service is ready; never shown.
const READY: &str = "\u{1e}paxx-compose: all ready, detaching";

pub fn launch(root: &Path, names: &[String]) -> Result<ExitStatus> {
    let exe = std::env::current_exe().context("cannot find paxx-compose's own program")?;
    let mut command = Command::new(exe);
    command
        .args(["up", "--background"])
        .args(names)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // It runs in the project folder: folders given relative to here must still hold.
    for key in ["PAXX_MODULES", "PAXX_CATALOG", "PAXX_CATALOG_HISTORY"] {
        if let Some(value) = std::env::var_os(key).filter(|v| !v.is_empty()) {
            if let Ok(absolute) = std::path::absolute(&value) {
                command.env(key, absolute);
            }
        }
    }
    // SAFETY: setsid is async-signal-safe, as code between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .context("cannot start the background supervisor (`paxx-compose up --background`)")?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (lines, said) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches('\n')
                .to_string();
            if lines.send(text).is_err() {
                return;
            }
            line.clear();
        }
    });
    // Ctrl-C while services start reaches only us (the supervisor has its own session):
    // pass it on, and keep relaying until the supervisor has stopped what it started.
    signals::install();
    let mut passed_on = false;
    loop {
        match said.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line == READY => return Ok(ExitStatus::Success),
            // Errors must show even with --quiet; what else the supervisor says is a note.
            Ok(line) if line.starts_with("error:") => warning!("{line}"),
            Ok(line) => note!("{line}"),
            Err(RecvTimeoutError::Timeout) => {
                if signals::requested() && !passed_on {
                    process::terminate(child.id() as i32);
                    passed_on = true;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child
        .wait()
        .context("cannot wait for the background supervisor")?;
    Ok(match status.code() {
        Some(0) => ExitStatus::Success,
        Some(code) => ExitStatus::Code(u8::try_from(code).unwrap_or(1)),
        None => ExitStatus::Failure,
    })
}

/// In the background supervisor, once all are ready: lets `launch` return, and sends
/// what the supervisor says from now on to `.paxx/logs/up.log`.
pub fn hand_off(layout: &Layout) {
    printer::stderr_line(READY); // a signal to `launch`, whatever --quiet says
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.up_log())
        .or_else(|_| std::fs::OpenOptions::new().write(true).open("/dev/null"));
    if let Ok(log) = log {
        // SAFETY: dup2 onto our own stdout and stderr; `log` stays open until then.
        unsafe {
            libc::dup2(log.as_raw_fd(), 1);
            libc::dup2(log.as_raw_fd(), 2);
        }
    }
}
