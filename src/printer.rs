//! The one place paxx-compose writes to the terminal, as uv's printer: data on stdout
//! (`out!`, [`json`], [`text`]), which `--quiet` never hides since it is what was asked
//! for; progress and notes on stderr (`note!`), which `--quiet` silences; and what must
//! be seen even then (`warning!`: conflicts left, a relayed error). Errors themselves are
//! returned, and `main` prints them once. Nothing else prints (`print!`/`eprintln!`
//! appear only here and in `main`).
//!
//! A closed terminal (its window shut during a foreground `up`) must not stop
//! paxx-compose from stopping the services, so failed writes to stderr are ignored.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use serde::Serialize;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Set once, from `--quiet`, before a command runs.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Progress and notes, on stderr; silenced by `--quiet`.
macro_rules! note {
    ($($arg:tt)*) => {{
        if !$crate::printer::quiet() {
            $crate::printer::stderr_line(&format!($($arg)*));
        }
    }};
}
pub(crate) use note;

/// What the user must see even with `--quiet`, on stderr.
macro_rules! warning {
    ($($arg:tt)*) => {{
        $crate::printer::stderr_line(&format!($($arg)*));
    }};
}
pub(crate) use warning;

/// A line of the data asked for, on stdout.
macro_rules! out {
    ($($arg:tt)*) => {{
        $crate::printer::text(&format!("{}\n", format_args!($($arg)*)));
    }};
}
pub(crate) use out;

pub fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Data asked for, as is, on stdout. (A closed pipe ends the process quietly: `main`
/// restores SIGPIPE.)
pub fn text(text: &str) {
    print!("{text}");
}

/// The `--json` answer of any command: one pretty-printed document on stdout.
pub fn json(value: &impl Serialize) -> Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// How a command ended, for `main` to turn into the process's exit code: library code
/// says what happened and the CLI decides what it means to the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran but what it reports is a failure (conflicts left, checks failed).
    Failure,
    /// Passed through from a child process (the background supervisor).
    Code(u8),
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => std::process::ExitCode::SUCCESS,
            ExitStatus::Failure => std::process::ExitCode::FAILURE,
            ExitStatus::Code(code) => std::process::ExitCode::from(code),
        }
    }
}
