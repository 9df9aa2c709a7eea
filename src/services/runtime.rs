//! What `status` and `doctor` say about a service as it is now: running or not, healthy,
//! restarted, or ended on its own (with its exit code and the end of its log).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::resolve::ResolvedService;
use crate::services::exits::{self, ExitRecord, Next};
use crate::services::ready;
use crate::services::state::{self, Layout, Recorded};

/// Lines of a dead service's log that `status` prints (`--json` has all that were kept).
const SHOWN: usize = 10;

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
    /// Restarts in a row behind the process running now.
    pub restarts: u32,
    /// How it last ended on its own (`.paxx/run/<name>.exit`), until `down` or a new `up`.
    pub last_exit: Option<ExitRecord>,
}

pub fn runtime(layout: &Layout, root: &Path, service: &ResolvedService) -> Result<Runtime> {
    let last_exit = exits::read(layout, &service.name);
    Ok(match state::check(&layout.pid_file(&service.name))? {
        Recorded::Running(r) => Runtime {
            pid: Some(r.pid),
            running: true,
            healthy: ready::probe(service, root),
            detached: Some(r.detached),
            restarts: r.restarts,
            last_exit,
        },
        _ => Runtime {
            last_exit,
            ..Runtime::default()
        },
    })
}

impl Runtime {
    /// For `status`: the state in a line, and lines to print under it.
    pub fn describe(&self) -> (String, Vec<String>) {
        let now = exits::now();
        let ago = |at: u64| ago(now.saturating_sub(at));
        if let Some(pid) = self.pid {
            let mut line = if self.healthy {
                format!("running (pid {pid}), healthy")
            } else {
                format!("running (pid {pid}), not ready")
            };
            if let Some(exit) = &self.last_exit {
                line.push_str(&format!(
                    "; restarted after it exited ({}) {}",
                    exit.status,
                    ago(exit.at)
                ));
            }
            return (line, Vec::new());
        }
        let Some(exit) = &self.last_exit else {
            return ("stopped".into(), Vec::new());
        };
        let next = match exit.next {
            Next::Restarting if !state::is_alive(exit.supervisor) => {
                "a restart was due, but the `paxx-compose up` that would do it is gone; \
                 run `paxx-compose up`"
                    .to_string()
            }
            Next::Restarting => match exit.restart_at {
                Some(at) if at > now => format!("restarting in {} s", at - now),
                _ => "restarting".to_string(),
            },
            _ => exit.why.clone(),
        };
        let line = format!("exited ({}) {}; {next}", exit.status, ago(exit.at));
        let mut lines = Vec::new();
        if !exit.last_lines.is_empty() {
            lines.push("last lines of its log:".to_string());
            let from = exit.last_lines.len().saturating_sub(SHOWN);
            lines.extend(exit.last_lines[from..].iter().map(|l| format!("  {l}")));
        }
        (line, lines)
    }
}

fn ago(seconds: u64) -> String {
    match seconds {
        0..=119 => format!("{seconds} s ago"),
        120..=7199 => format!("{} min ago", seconds / 60),
        _ => format!("{} h ago", seconds / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_service_shows_how_it_ended_and_its_last_lines() {
        let record = ExitRecord {
            status: "exit status: 3".into(),
            code: Some(3),
            signal: None,
            at: exits::now() - 5,
            ran_for: 1.0,
            restarts: 5,
            next: Next::GaveUp,
            why: "gave up after 5 restarts in a row (`restart-retries = 5`)".into(),
            restart_at: None,
            last_lines: (1..=12).map(|n| format!("line {n}")).collect(),
            supervisor: std::process::id() as i32,
        };
        let dead = Runtime {
            last_exit: Some(record.clone()),
            ..Runtime::default()
        };
        let (line, lines) = dead.describe();
        assert_eq!(
            line,
            "exited (exit status: 3) 5 s ago; gave up after 5 restarts in a row \
             (`restart-retries = 5`)"
        );
        assert_eq!(lines.len(), 1 + SHOWN);
        assert_eq!(lines.last().unwrap(), "  line 12");
        let gone = Runtime {
            last_exit: Some(ExitRecord {
                next: Next::Restarting,
                supervisor: i32::MAX,
                ..record
            }),
            ..Runtime::default()
        };
        assert!(gone.describe().0.contains("would do it is gone"));
        assert_eq!(Runtime::default().describe().0, "stopped");
    }
}
