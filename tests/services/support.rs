//! Projects for tests/services.rs: made with the real `paxx-compose new`, the fixture
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

pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

/// Alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next();
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

/// Live processes whose command line mentions `text` (a project's path) or that run
/// inside it.
pub fn processes_mentioning(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let inside =
            std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(text));
        if (inside || cmdline.contains(text)) && alive(pid) && pid != std::process::id() as i32 {
            out.push(format!("{pid}: {cmdline}"));
        }
    }
    out
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
    _dir: tempfile::TempDir,
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
            _dir: dir,
            root,
            user: None,
            path_env: None,
        }
    }

    /// Like `new`, in a folder only its owner may enter, as `mktemp -d` makes them.
    pub fn new_private(features: &[&str], ports: &[(&str, u16)]) -> Project {
        let p = Project::new(features, ports);
        std::fs::set_permissions(p._dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
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
