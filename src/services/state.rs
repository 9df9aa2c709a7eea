//! What `up` keeps under `.paxx/`, and how a later command tells a live service from
//! the pid file of one that crashed.
//!
//! ```text
//! .paxx/run/<service>.pid   pid on the first line (so `kill $(head -1 …)` works), then
//!                           `start=` (the process's start time), `seq=`, `mode=`, `restarts=`
//! .paxx/run/<service>.exit  how the service last exited on its own (JSON, src/services/exits.rs)
//! .paxx/run.lock            held while a pid or exit file changes hands (up, restarts, down)
//! .paxx/up/<pid>.pid        each `up` supervising services (foreground, or the background
//!                           one `up --detach` leaves behind), same format
//! .paxx/up.lock             held while an `up` is starting services
//! .paxx/logs/<service>.log  the service's output; the previous run's in `<service>.log.1`
//! .paxx/logs/up.log         what background supervisors say once `up --detach` returned
//! .paxx/env                 what `paxx-compose env` prints
//! .paxx/state/<service>     the service's data (`{state}`), or a link to it (outside.rs)
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
        }
    }

    pub fn dot(&self) -> PathBuf {
        self.root.join(".paxx")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dot().join("run")
    }

    pub fn pid_file(&self, service: &str) -> PathBuf {
        self.run_dir().join(format!("{service}.pid"))
    }

    pub fn log_file(&self, service: &str) -> PathBuf {
        self.dot().join("logs").join(format!("{service}.log"))
    }

    pub fn exit_file(&self, service: &str) -> PathBuf {
        self.run_dir().join(format!("{service}.exit"))
    }

    pub fn supervisors_dir(&self) -> PathBuf {
        self.dot().join("up")
    }

    pub fn supervisor_file(&self, pid: u32) -> PathBuf {
        self.supervisors_dir().join(format!("{pid}.pid"))
    }

    pub fn up_log(&self) -> PathBuf {
        self.dot().join("logs").join("up.log")
    }

    pub fn env_file(&self) -> PathBuf {
        self.dot().join("env")
    }

    pub fn prepare(&self) -> Result<()> {
        for dir in [
            self.run_dir(),
            self.dot().join("logs"),
            self.supervisors_dir(),
        ] {
            fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        Ok(())
    }

    /// Holds `.paxx/up.lock` until the file is dropped, so two `up`s never start the
    /// same service twice.
    pub fn lock(&self) -> Result<File> {
        let path = self.dot().join("up.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open `{}`", path.display()))?;
        // SAFETY: flock on a descriptor we own; the lock goes with the descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            bail!(
                "another `paxx-compose up` is starting services in `{}`; wait for it to finish",
                self.root.display()
            );
        }
        Ok(file)
    }

    /// Waits for `.paxx/run.lock`, held only while pid and exit files change: a service
    /// that exits on its own and `down` asking it to stop must not both act on it.
    pub fn run_lock(&self) -> Result<File> {
        let path = self.dot().join("run.lock");
        fs::create_dir_all(self.dot())
            .with_context(|| format!("cannot create `{}`", self.dot().display()))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open `{}`", path.display()))?;
        // SAFETY: flock on a descriptor we own; the lock goes with the descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot lock `{}`", path.display()));
        }
        Ok(file)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PidRecord {
    pub pid: i32,
    /// The process's start time, which tells it from a later process given the same pid.
    pub start: Option<String>,
    /// Start order across runs: `down` stops the highest first.
    pub seq: u64,
    pub detached: bool,
    /// Restarts in a row before this run (`restart = "on-failure"`).
    pub restarts: u32,
    /// The `up` that started it and waits for it.
    pub supervisor: Option<i32>,
}

impl PidRecord {
    pub fn new(pid: i32, seq: u64, detached: bool) -> Self {
        PidRecord {
            pid,
            start: start_time(pid),
            seq,
            detached,
            restarts: 0,
            supervisor: None,
        }
    }

    /// Alive, and the very process that was recorded.
    pub fn is_current(&self) -> bool {
        is_alive(self.pid)
            && match &self.start {
                Some(start) => start_time(self.pid).as_ref() == Some(start),
                None => true,
            }
    }

    fn render(&self) -> String {
        let mode = if self.detached {
            "detached"
        } else {
            "foreground"
        };
        let start = self.start.as_deref().unwrap_or("");
        let supervisor = self.supervisor.map_or(String::new(), |p| p.to_string());
        format!(
            "{}\nstart={start}\nseq={}\nmode={mode}\nrestarts={}\nsupervisor={supervisor}\n",
            self.pid, self.seq, self.restarts
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok().filter(|p| *p > 0)?;
        let mut record = PidRecord {
            pid,
            start: None,
            seq: 0,
            detached: true,
            restarts: 0,
            supervisor: None,
        };
        for line in lines {
            match line.split_once('=') {
                Some(("start", v)) if !v.is_empty() => record.start = Some(v.to_string()),
                Some(("seq", v)) => record.seq = v.parse().unwrap_or(0),
                Some(("mode", v)) => record.detached = v != "foreground",
                Some(("restarts", v)) => record.restarts = v.parse().unwrap_or(0),
                Some(("supervisor", v)) => record.supervisor = v.parse().ok(),
                _ => {}
            }
        }
        Some(record)
    }
}

/// What a pid file says.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Absent,
    Running(PidRecord),
    /// The file outlived its process (a crash, a reboot) or is unreadable.
    Stale(Option<PidRecord>),
}

pub fn check(path: &Path) -> Result<Recorded> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recorded::Absent),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    Ok(match PidRecord::parse(&text) {
        Some(record) if record.is_current() => Recorded::Running(record),
        other => Recorded::Stale(other),
    })
}

/// What a pid file says, alive or not.
pub fn read(path: &Path) -> Option<PidRecord> {
    PidRecord::parse(&fs::read_to_string(path).ok()?)
}

/// Writes through a temporary file so a reader never sees half a pid file.
pub fn write_pid(path: &Path, record: &PidRecord) -> Result<()> {
    let temp = path.with_extension("pid.tmp");
    let mut file =
        File::create(&temp).with_context(|| format!("cannot create `{}`", temp.display()))?;
    file.write_all(record.render().as_bytes())
        .with_context(|| format!("cannot write `{}`", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("cannot write `{}`", path.display()))
}

pub fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove `{}`", path.display()))
        }
        _ => Ok(()),
    }
}

/// Every service with a pid file, first started first.
pub fn recorded(layout: &Layout) -> Result<Vec<(String, Recorded)>> {
    let dir = layout.run_dir();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(service) = name.strip_suffix(".pid") {
            out.push((service.to_string(), check(&entry.path())?));
        }
    }
    let seq = |r: &Recorded| match r {
        Recorded::Running(p) | Recorded::Stale(Some(p)) => p.seq,
        _ => 0,
    };
    out.sort_by_key(|(name, r)| (seq(r), name.clone()));
    Ok(out)
}

/// Every `up` that supervises services in this project (or left a stale file).
pub fn supervisors(layout: &Layout) -> Result<Vec<(PathBuf, Recorded)>> {
    let dir = layout.supervisors_dir();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "pid") {
            out.push((path.clone(), check(&path)?));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub fn next_seq(layout: &Layout) -> Result<u64> {
    Ok(recorded(layout)?
        .iter()
        .filter_map(|(_, r)| match r {
            Recorded::Running(p) => Some(p.seq),
            _ => None,
        })
        .max()
        .map_or(1, |s| s + 1))
}

/// Whether `pid` names a process that has not exited. A zombie (exited, not yet reaped
/// by its parent) still answers `kill(pid, 0)`, so Linux's /proc is asked too.
pub fn is_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0
        && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM)
    {
        return false;
    }
    match proc_stat(pid) {
        Some(fields) => !matches!(fields.first().map(String::as_str), Some("Z" | "X")),
        None => true,
    }
}

/// The fields of /proc/<pid>/stat after the command name (which may hold spaces).
fn proc_stat(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// When the process started: field 22 of /proc/<pid>/stat on Linux, `ps` elsewhere (macOS).
pub fn start_time(pid: i32) -> Option<String> {
    if let Some(fields) = proc_stat(pid) {
        return fields.get(19).cloned();
    }
    let out = std::process::Command::new("ps")
        .args(["-o", "lstart=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_files_round_trip_and_tell_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.prepare().unwrap();
        let me = PidRecord::new(std::process::id() as i32, 3, true);
        assert!(me.start.is_some());
        write_pid(&layout.pid_file("me"), &me).unwrap();
        assert_eq!(
            check(&layout.pid_file("me")).unwrap(),
            Recorded::Running(me.clone())
        );
        // Same pid, another start time: the pid was reused by another process.
        let reused = PidRecord {
            start: Some("1".into()),
            ..me.clone()
        };
        write_pid(&layout.pid_file("reused"), &reused).unwrap();
        assert!(matches!(
            check(&layout.pid_file("reused")).unwrap(),
            Recorded::Stale(Some(_))
        ));
        fs::write(layout.pid_file("junk"), "not a pid\n").unwrap();
        assert_eq!(
            check(&layout.pid_file("junk")).unwrap(),
            Recorded::Stale(None)
        );
        assert_eq!(check(&layout.pid_file("none")).unwrap(), Recorded::Absent);
        assert_eq!(next_seq(&layout).unwrap(), 4);
    }
}
