//! Projects for tests/it/services.rs: made with the real `paxx-compose new`, the fixture
//! modules of tests/fixtures/services-modules on PAXX_MODULES, and free ports of their own.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_paxx-compose");

pub fn modules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/services-modules")
}

/// A port nothing listens on (the OS picks it; a race with another test is unlikely).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One service's entry in `status --json`.
pub fn service<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

/// Alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    if has_proc() {
        return match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !zombie(
                stat[stat.rfind(')').unwrap() + 1..]
                    .split_whitespace()
                    .next()
                    .unwrap_or(""),
            ),
            Err(_) => false,
        };
    }
    alive_by_ps(pid)
}

fn alive_by_ps(pid: i32) -> bool {
    let out = Command::new(tool("/bin/ps", "ps"))
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .expect("run ps");
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    !state.is_empty() && !zombie(&state)
}

/// `Z` (zombie) or `X` (dead), as /proc and ps both spell a process state.
fn zombie(state: &str) -> bool {
    state.starts_with('Z') || state.starts_with('X')
}

/// Linux has /proc; macOS (where `nix flake check` runs these tests too) does not.
fn has_proc() -> bool {
    Path::new("/proc/self/stat").exists()
}

/// A system tool at its usual place, else from PATH (a Nix build's PATH holds only inputs).
fn tool(at: &str, name: &str) -> String {
    if Path::new(at).exists() { at } else { name }.to_string()
}

/// Live processes whose command line mentions `text` (a project's path) or that run
/// inside it.
pub fn processes_mentioning(text: &str) -> Vec<String> {
    let me = std::process::id() as i32;
    let all = if has_proc() { from_proc() } else { from_ps() };
    all.into_iter()
        .filter(|p| {
            let inside = p.cwd.as_ref().is_some_and(|cwd| cwd.starts_with(text));
            (inside || p.cmdline.contains(text)) && !p.zombie && p.pid != me
        })
        .map(|p| format!("{}: {}", p.pid, p.cmdline))
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub pid: i32,
    pub zombie: bool,
    pub cmdline: String,
    pub cwd: Option<PathBuf>,
}

/// Every process, from /proc (Linux).
pub fn from_proc() -> Vec<Process> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline)
            .trim_end_matches('\0')
            .replace('\0', " ");
        out.push(Process {
            pid,
            zombie: !alive(pid),
            cmdline,
            cwd: std::fs::read_link(entry.path().join("cwd")).ok(),
        });
    }
    out
}

/// Every process, from `ps` and `lsof` (macOS; any Unix with both).
pub fn from_ps() -> Vec<Process> {
    let ps = Command::new(tool("/bin/ps", "ps"))
        .args(["-axww", "-o", "pid=,stat=,command="])
        .output()
        .expect("run ps");
    // One `lsof` for every working folder: `p<pid>` then `n<path>` lines.
    let lsof = Command::new(tool("/usr/sbin/lsof", "lsof"))
        .args(["-w", "-d", "cwd", "-Fpn"])
        .output()
        .expect("run lsof");
    let mut cwds = std::collections::HashMap::new();
    let mut pid = None;
    for line in String::from_utf8_lossy(&lsof.stdout).lines() {
        if let Some(p) = line.strip_prefix('p') {
            pid = p.parse::<i32>().ok();
        } else if let (Some(path), Some(p)) = (line.strip_prefix('n'), pid) {
            cwds.insert(p, PathBuf::from(path));
        }
    }
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.trim_start().splitn(3, char::is_whitespace);
            let pid = parts.next()?.parse::<i32>().ok()?;
            let state = parts.next()?.trim();
            let cmdline = parts.next().unwrap_or("").trim().to_string();
            Some(Process {
                pid,
                zombie: zombie(state),
                cmdline,
                cwd: cwds.get(&pid).cloned(),
            })
        })
        .collect()
}

pub fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    pub fn failed(&self) -> &Self {
        assert_ne!(self.code, 0, "expected failure: {self:#?}");
        self
    }
}

/// A project in its own temporary folder; dropping it runs `down`.
pub struct Project {
    dir: tempfile::TempDir,
    pub root: PathBuf,
    /// `runuser -u <user> --` in front of every command, for the non-root path.
    pub user: Option<String>,
    /// PATH for paxx-compose, instead of the caller's.
    pub path_env: Option<String>,
}

impl Project {
    /// `new` with `features`, then `[ports]` for each named service.
    pub fn new(features: &[&str], ports: &[(&str, u16)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        // A folder others can enter: services that refuse root run as another account.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir(&root).unwrap();
        let root = root.canonicalize().unwrap();
        let mut args = vec!["new".to_string(), root.display().to_string()];
        if !features.is_empty() {
            args.push(format!("--feature={}", features.join(",")));
        }
        let out = run(Command::new(BIN).args(&args).env("PAXX_MODULES", modules()));
        out.ok();
        let mut toml = std::fs::read_to_string(root.join("paxx.toml")).unwrap();
        toml.push_str("\n[ports]\n");
        for (service, port) in ports {
            toml.push_str(&format!("{service} = {port}\n"));
        }
        std::fs::write(root.join("paxx.toml"), toml).unwrap();
        Project {
            dir,
            root,
            user: None,
            path_env: None,
        }
    }

    /// Like `new`, in a folder only its owner may enter, as `mktemp -d` makes them.
    pub fn new_private(features: &[&str], ports: &[(&str, u16)]) -> Project {
        let p = Project::new(features, ports);
        std::fs::set_permissions(p.dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                // A plain PATH: the caller's may hold folders only root can enter.
                c.args([
                    "-u",
                    user,
                    "--",
                    "env",
                    "PATH=/usr/local/bin:/usr/bin:/bin",
                    BIN,
                ]);
                c
            }
            None => Command::new(BIN),
        };
        cmd.args(args)
            .current_dir(&self.root)
            .env("PAXX_MODULES", modules())
            .env("NO_COLOR", "1");
        if let Some(path) = &self.path_env {
            cmd.env("PATH", path);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Out {
        run(&mut self.command(args))
    }

    /// A foreground `up`, its stderr collected as it comes.
    pub fn spawn(&self, args: &[&str]) -> (Child, Arc<Mutex<String>>) {
        let mut child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut t = sink.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        });
        (child, text)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The pid in `.paxx/run/<service>.pid`, if any.
    pub fn pid(&self, service: &str) -> Option<i32> {
        let text = std::fs::read_to_string(self.path(&format!(".paxx/run/{service}.pid"))).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    pub fn status_json(&self) -> serde_json::Value {
        let out = self.run(&["status", "--json"]);
        out.ok();
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Asserts that no process of this project is left and no pid file either.
    pub fn assert_nothing_running(&self) {
        let left = processes_mentioning(&self.root.display().to_string());
        assert!(left.is_empty(), "processes left running: {left:#?}");
        let run_dir = self.path(".paxx/run");
        // Exit records (`<service>.exit`) stay for `status`; nothing runs behind them.
        let pid_files: Vec<_> = std::fs::read_dir(&run_dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.ends_with(".exit"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(pid_files.is_empty(), "pid files left: {pid_files:?}");
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.command(&["down"]).output();
    }
}

pub fn run(cmd: &mut Command) -> Out {
    let out = cmd.output().expect("run paxx-compose");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// `ps` and `lsof`, which stand in for /proc on macOS, see what /proc sees: a child in a
/// folder of its own while it runs, then as a zombie once killed and not yet reaped.
#[cfg(target_os = "linux")]
#[test]
fn ps_and_lsof_see_what_proc_sees() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap();
    let mut child = Command::new("sleep")
        .arg("300")
        .current_dir(&dir)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let find = |all: Vec<Process>| all.into_iter().find(|p| p.pid == pid);
    let running = find(from_proc()).expect("the child in /proc");
    assert_eq!(
        running,
        Process {
            pid,
            zombie: false,
            cmdline: "sleep 300".into(),
            cwd: Some(dir.clone()),
        }
    );
    assert_eq!(find(from_ps()), Some(running));
    assert!(alive(pid) && alive_by_ps(pid));
    assert_eq!(
        processes_mentioning(&dir.display().to_string()),
        vec![format!("{pid}: sleep 300")]
    );

    child.kill().unwrap();
    wait_for("the child to die", Duration::from_secs(30), || {
        find(from_proc()).is_some_and(|p| p.zombie)
    });
    assert!(find(from_ps()).is_some_and(|p| p.zombie));
    assert!(!alive(pid) && !alive_by_ps(pid));
    assert!(processes_mentioning(&dir.display().to_string()).is_empty());
    child.wait().unwrap();
}
