//! Runs the real `paxx-compose` binary in temporary folders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod upgrade;

pub const BIN: &str = env!("CARGO_BIN_EXE_paxx-compose");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_modules() -> PathBuf {
    repo().join("tests/fixtures/modules")
}

pub fn template_dir(name: &str) -> PathBuf {
    repo().join("templates").join(name)
}

/// What a run printed and how it ended, with temporary paths redacted.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn failed(&self) -> &Self {
        assert_ne!(
            self.code, 0,
            "expected failure\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Exit code and both streams, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A temporary workspace; projects are created inside it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub modules: Option<PathBuf>,
}

impl Workspace {
    /// With the test-fixture modules on PAXX_MODULES.
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
            modules: Some(fixture_modules()),
        }
    }

    /// With only the embedded catalog.
    pub fn embedded_only() -> Self {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
            modules: None,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn project(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    pub fn command(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(cwd)
            .env_remove("PAXX_TEST_FAIL_AFTER_RENAMES");
        match &self.modules {
            Some(m) => cmd.env("PAXX_MODULES", m),
            None => cmd.env_remove("PAXX_MODULES"),
        };
        cmd
    }

    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        self.finish(self.command(cwd, args))
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.path(), args)
    }

    pub fn finish(&self, mut cmd: Command) -> Run {
        let out = cmd.output().expect("run paxx-compose");
        let redact = |s: &[u8]| {
            let text = String::from_utf8_lossy(s).into_owned();
            let tmp = self.path().to_string_lossy().into_owned();
            let real = self
                .path()
                .canonicalize()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            text.replace(&real, "[TMP]")
                .replace(&tmp, "[TMP]")
                .replace(&repo().to_string_lossy().into_owned(), "[REPO]")
        };
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: redact(&out.stdout),
            stderr: redact(&out.stderr),
        }
    }
}

/// Every file under `root` (relative path → bytes), skipping `.paxx/` and `.git/`.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == ".paxx" || rel == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Every folder under `root` but `.git/`, so tests also catch empty folders left behind.
pub fn folders(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && path != root.join(".git") {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The names of the paths whose content differs between two trees.
pub fn differences(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A unified diff of two trees, for snapshots of what features add.
pub fn tree_diff(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    for path in differences(before, after) {
        let text = |t: &BTreeMap<String, Vec<u8>>| {
            t.get(&path)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let (old, new) = (text(before), text(after));
        let diff = similar::TextDiff::from_lines(&old, &new);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
    }
    out
}

/// `paxx.toml` with its hashes replaced, so snapshots do not churn with the template.
pub fn redact_hashes(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match line.find("\"sha256:") {
            Some(i) => out.push_str(&format!("{}\"sha256:[HASH]\"", &line[..i])),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// A project's tree without its `.env`, whose SECRET_KEY is random by design: compare
/// that file apart, with `env_key`.
pub fn tree_without_env(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = tree(root);
    files.remove(".env");
    files
}

/// The development SECRET_KEY `new`/`init` wrote to `root/.env` (64 hex digits).
pub fn env_key(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join(".env")).unwrap();
    let key = text
        .lines()
        .find_map(|line| line.strip_prefix("SECRET_KEY="))
        .unwrap_or_else(|| panic!("no SECRET_KEY in .env:\n{text}"))
        .to_string();
    assert_eq!(key.len(), 64, "{key}");
    assert!(key.bytes().all(|c| c.is_ascii_hexdigit()), "{key}");
    key
}
