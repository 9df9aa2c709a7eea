//! Is uv.lock there, and does Nix see it? `nix build`, the image and `nix flake check`
//! build the Python side from uv.lock through the project's flake, and a flake in a git
//! repository sees only the files git tracks. Outside git, Nix copies the whole folder
//! (.venv and .paxx/state included) into the store on every evaluation.

use std::path::Path;
use std::process::Command;

use super::{Level, Report};

#[derive(Debug, PartialEq)]
pub enum Lock {
    Missing,
    /// uv.lock is there; `git` is not installed, so whether Nix sees it is unknown.
    NoGit,
    NotARepository,
    Untracked,
    Tracked,
}

fn git(root: &Path, args: &[&str]) -> Option<std::process::Output> {
    // Any owner: as root, git refuses a repository another account owns otherwise.
    Command::new("git")
        .args(["-c", "safe.directory=*", "-C"])
        .arg(root)
        .args(args)
        .output()
        .ok()
}

pub fn state(root: &Path) -> Lock {
    if !root.join("uv.lock").is_file() {
        return Lock::Missing;
    }
    let Some(inside) = git(root, &["rev-parse", "--is-inside-work-tree"]) else {
        return Lock::NoGit;
    };
    if !inside.status.success() || String::from_utf8_lossy(&inside.stdout).trim() != "true" {
        return Lock::NotARepository;
    }
    match git(root, &["ls-files", "--error-unmatch", "--", "uv.lock"]) {
        Some(out) if out.status.success() => Lock::Tracked,
        _ => Lock::Untracked,
    }
}

pub fn check(root: &Path, report: &mut Report) {
    let (level, detail, fix): (Level, &str, &[&str]) = match state(root) {
        Lock::Missing => (
            Level::Warning,
            "missing: `nix build`, the image and CI (`uv sync --locked`) are built from it",
            &["`uv lock && git add uv.lock`"],
        ),
        Lock::Untracked => (
            Level::Warning,
            "not tracked by git: the project's flake sees only tracked files, \
             so `nix build` and the image stop without it",
            &["`git add uv.lock`"],
        ),
        Lock::NotARepository => (
            Level::Warning,
            "not a git repository: every Nix evaluation copies this whole folder into the \
             store, .venv and .paxx/state included",
            &["`git init && git add -A` (.gitignore keeps .venv and .paxx out)"],
        ),
        Lock::NoGit => (
            Level::Info,
            "uv.lock is here; `git` is not installed, so whether the flake sees it is unknown",
            &[],
        ),
        Lock::Tracked => (Level::Ok, "tracked by git, so `nix build` sees it", &[]),
    };
    report.add(
        "uv.lock",
        level,
        detail.to_string(),
        fix.iter().map(|f| f.to_string()).collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_git(dir: &Path, args: &[&str]) {
        let out = git(
            dir,
            &[
                &["-c", "user.name=t", "-c", "user.email=t@example.com"],
                args,
            ]
            .concat(),
        )
        .expect("git is installed");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    #[test]
    fn tells_missing_outside_git_untracked_and_tracked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(state(root), Lock::Missing);
        std::fs::write(root.join("uv.lock"), "version = 1\n").unwrap();
        assert_eq!(state(root), Lock::NotARepository);
        run_git(root, &["init", "-q"]);
        assert_eq!(state(root), Lock::Untracked);
        run_git(root, &["add", "uv.lock"]);
        assert_eq!(state(root), Lock::Tracked);
        std::fs::remove_file(root.join("uv.lock")).unwrap();
        assert_eq!(state(root), Lock::Missing);
    }

    #[test]
    fn a_project_in_a_subfolder_of_a_repository_counts_as_in_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("services/shop");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("uv.lock"), "version = 1\n").unwrap();
        run_git(dir.path(), &["init", "-q"]);
        assert_eq!(state(&root), Lock::Untracked);
        run_git(dir.path(), &["add", "services/shop/uv.lock"]);
        assert_eq!(state(&root), Lock::Tracked);
    }

    #[test]
    fn each_state_is_reported_with_its_fix() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = Report::default();
        check(dir.path(), &mut report);
        let c = &report.0[0];
        assert_eq!((c.check.as_str(), c.status), ("uv.lock", Level::Warning));
        assert_eq!(c.fix, vec!["`uv lock && git add uv.lock`".to_string()]);
    }
}
