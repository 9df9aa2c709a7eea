//! A service that exits without being asked to: what its restart policy says `up` does
//! next (pure), and the record of it in `.paxx/run/<service>.exit` that `status` reads.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::manifest::Restart;
use crate::resolve::ResolvedService;
use crate::services::state::{self, Layout};

/// The longest wait between two restarts, however many came before.
pub const MAX_DELAY: u64 = 60;
/// A service that ran this long before it exited was doing fine: its count of restarts
/// in a row starts afresh.
pub const STABLE: Duration = Duration::from_secs(60);

/// What happens after an exit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Next {
    /// A restart is due at `restart_at`.
    Restarting,
    /// It was restarted and runs again.
    Restarted,
    /// It failed `restart-retries` times in a row.
    GaveUp,
    /// Its policy leaves it stopped.
    NotRestarted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub next: Next,
    pub delay: Option<Duration>,
    /// The rest of the sentence "<service> exited (…) after N s; …".
    pub why: String,
}

/// What `service`'s policy does after an exit: `failed` (non-zero status, a signal, or a
/// restart that did not come up) after `restarts` restarts in a row.
pub fn decide(service: &ResolvedService, failed: bool, restarts: u32) -> Decision {
    let stop = |next, why: String| Decision {
        next,
        delay: None,
        why,
    };
    match service.restart {
        Restart::Never => stop(
            Next::NotRestarted,
            "not restarted (`restart = \"never\"`)".into(),
        ),
        Restart::OnFailure if !failed => stop(
            Next::NotRestarted,
            "not restarted: it ended without an error (`restart = \"on-failure\"`)".into(),
        ),
        Restart::OnFailure if restarts >= service.restart_retries => stop(
            Next::GaveUp,
            format!(
                "gave up after {restarts} restart{} in a row (`restart-retries = {}`)",
                if restarts == 1 { "" } else { "s" },
                service.restart_retries
            ),
        ),
        Restart::OnFailure => {
            let delay = service
                .restart_delay
                .saturating_mul(1u64 << restarts.min(16))
                .min(MAX_DELAY);
            Decision {
                next: Next::Restarting,
                delay: Some(Duration::from_secs(delay)),
                why: format!(
                    "restarting in {delay} s (restart {} of {})",
                    restarts + 1,
                    service.restart_retries
                ),
            }
        }
    }
}

/// `.paxx/run/<service>.exit`: the last time the service ended on its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExitRecord {
    /// `exit status: 3`, `signal: 9 (SIGKILL)`, or why a restart did not come up.
    pub status: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// When, in seconds since 1970.
    pub at: u64,
    /// Seconds it had run.
    pub ran_for: f64,
    /// Restarts in a row before this exit.
    pub restarts: u32,
    pub next: Next,
    /// What `up` did about it, as said in the log.
    pub why: String,
    /// When the restart is due (seconds since 1970), while `next` is `restarting`.
    pub restart_at: Option<u64>,
    /// The end of the service's log as it exited.
    pub last_lines: Vec<String>,
    /// The `up` that watches it: a pending restart happens only while that one runs.
    pub supervisor: i32,
}

impl ExitRecord {
    pub fn new(
        status: Option<&ExitStatus>,
        failure: &str,
        ran_for: Duration,
        restarts: u32,
        decision: &Decision,
        last_lines: Vec<String>,
    ) -> Self {
        let now = now();
        ExitRecord {
            status: status.map_or(failure.to_string(), ExitStatus::to_string),
            code: status.and_then(ExitStatus::code),
            signal: status.and_then(ExitStatus::signal),
            at: now,
            ran_for: (ran_for.as_secs_f64() * 10.0).round() / 10.0,
            restarts,
            next: decision.next,
            why: decision.why.clone(),
            restart_at: decision.delay.map(|d| now + d.as_secs()),
            last_lines,
            supervisor: std::process::id() as i32,
        }
    }

    /// `redis exited (signal: 9 (SIGKILL)) after 3.2 s; restarting in 1 s (restart 1 of 5)`
    pub fn sentence(&self, name: &str) -> String {
        format!(
            "{name} exited ({}) after {:.1} s; {}",
            self.status, self.ran_for, self.why
        )
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn read(layout: &Layout, service: &str) -> Option<ExitRecord> {
    let text = std::fs::read_to_string(layout.exit_file(service)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Written through a temporary file, so `status` never reads half a record.
pub fn write(layout: &Layout, service: &str, record: &ExitRecord) -> Result<()> {
    let path = layout.exit_file(service);
    let temp = path.with_extension("exit.tmp");
    let text = serde_json::to_string_pretty(record)?;
    std::fs::write(&temp, text).with_context(|| format!("cannot write `{}`", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Every exit record, by service.
pub fn all(layout: &Layout) -> Vec<(String, ExitRecord)> {
    let Ok(entries) = std::fs::read_dir(layout.run_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, ExitRecord)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".exit")?.to_string();
            let record = read(layout, &name)?;
            Some((name, record))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub fn remove(layout: &Layout, service: &str) -> Result<()> {
    state::remove(&layout.exit_file(service))
}

/// A line from paxx-compose in the service's own log, so that reading the log alone
/// tells why the service stopped or started again.
pub fn note_in_log(layout: &Layout, service: &str, text: &str) {
    let path = layout.log_file(service);
    if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = writeln!(file, "[paxx-compose] {text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::resolve;

    fn service(restart: Restart, retries: u32, delay: u64) -> ResolvedService {
        let catalog = crate::catalog::Catalog::load().unwrap();
        let mut s = resolve(&catalog, "fastapi", &[], &Default::default(), "/p")
            .unwrap()
            .services
            .remove(0);
        (s.restart, s.restart_retries, s.restart_delay) = (restart, retries, delay);
        s
    }

    #[test]
    fn on_failure_backs_off_then_gives_up_and_never_means_never() {
        let s = service(Restart::OnFailure, 3, 2);
        let delays: Vec<_> = (0..3).map(|n| decide(&s, true, n).delay).collect();
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(delays, [secs(2), secs(4), secs(8)]);
        assert_eq!(
            decide(&s, true, 1).why,
            "restarting in 4 s (restart 2 of 3)"
        );
        let gave_up = decide(&s, true, 3);
        assert_eq!((gave_up.next, gave_up.delay), (Next::GaveUp, None));
        assert!(
            gave_up.why.contains("gave up after 3 restarts"),
            "{gave_up:?}"
        );
        assert_eq!(decide(&s, false, 0).next, Next::NotRestarted);
        let long = service(Restart::OnFailure, 100, 1);
        assert_eq!(decide(&long, true, 40).delay, secs(MAX_DELAY));
        let never = decide(&service(Restart::Never, 5, 1), true, 0);
        assert_eq!(never.next, Next::NotRestarted);
        assert!(never.why.contains("\"never\""));
    }

    #[test]
    fn records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.prepare().unwrap();
        let status = ExitStatus::from_raw(9);
        let s = service(Restart::OnFailure, 5, 1);
        let record = ExitRecord::new(
            Some(&status),
            "",
            Duration::from_millis(3210),
            0,
            &decide(&s, true, 0),
            vec!["last words".into()],
        );
        assert_eq!((record.code, record.signal), (None, Some(9)));
        assert_eq!(
            record.sentence("redis"),
            "redis exited (signal: 9 (SIGKILL)) after 3.2 s; restarting in 1 s (restart 1 of 5)"
        );
        write(&layout, "redis", &record).unwrap();
        assert_eq!(read(&layout, "redis"), Some(record));
        remove(&layout, "redis").unwrap();
        assert_eq!(read(&layout, "redis"), None);
    }
}
