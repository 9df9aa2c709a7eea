//! Helpers for the `upgrade` tests: the fixture catalogs (tests/fixtures/upgrade) and
//! one user edit of every kind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

pub const OLD: &str = "0.9.0";
pub const NEW: &str = "0.10.0";

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/upgrade")
}

/// Runs paxx-compose with the fixture catalog `version` and the fixture history.
pub fn paxx(ws: &Workspace, cwd: &Path, version: &str, args: &[&str]) -> Run {
    let mut cmd = ws.command(cwd, args);
    cmd.env("PAXX_CATALOG", fixtures().join(version))
        .env("PAXX_CATALOG_HISTORY", fixtures());
    ws.finish(cmd)
}

/// `shop`, generated with the old catalog and both fixture features, committed to git
/// (`upgrade` writes only into a clean git work tree, or with --force).
pub fn old_project(ws: &Workspace) -> PathBuf {
    let args = [
        "new",
        "shop",
        "--template",
        "mini",
        "--feature",
        "alpha,beta",
    ];
    paxx(ws, ws.path(), OLD, &args).ok();
    let dir = ws.project("shop");
    git(&dir, &["init", "-q"]);
    commit(&dir, "generated");
    dir
}

/// Runs git in `dir`; git is needed by these tests as by `upgrade` itself.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is needed for the upgrade tests: install it");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Commits everything in `dir`, as a user does before upgrading.
pub fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", message]);
}

pub fn read(dir: &Path, path: &str) -> String {
    fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn edit(dir: &Path, path: &str, from: &str, to: &str) {
    let text = read(dir, path);
    assert!(text.contains(from), "{path} lacks {from:?}:\n{text}");
    fs::write(dir.join(path), text.replacen(from, to, 1)).unwrap();
}

pub fn append(dir: &Path, path: &str, text: &str) {
    fs::write(dir.join(path), read(dir, path) + text).unwrap();
}

/// One user edit of every kind; which outcome each should get is asserted in
/// `every_kind_of_edit_gets_its_outcome`.
pub fn edit_every_kind(dir: &Path) {
    // app/main.py: untouched (upstream changed it).
    edit(dir, "app/settings.py", "DEBUG = False", "DEBUG = True");
    edit(
        dir,
        "app/alpha.py",
        "NAME = \"alpha\"",
        "NAME = \"my-alpha\"",
    );
    edit(
        dir,
        "app/routes.py",
        "PREFIX = \"/api\"",
        "PREFIX = \"/shop\"",
    );
    fs::remove_file(dir.join("app/beta.py")).unwrap();
    append(dir, "app/old_helpers.py", "# mine\n");
    edit(dir, "app/alpha_client.py", "retries = 1", "retries = 3");
    edit(dir, "README.md", "A tiny project.", "My shop.");
    edit(
        dir,
        "pyproject.toml",
        "    \"beta-lib\",\n",
        "    \"beta-lib\",\n    \"httpx>=0.27\",\n",
    );
    // .env.example: a feature's setting (its default changes upstream), and one of mine.
    edit(
        dir,
        ".env.example",
        "BETA_URL=beta://127.0.0.1",
        "BETA_URL=beta://mine",
    );
    append(dir, ".env.example", "\n# mine\nMY_SETTING=1\n");
    fs::write(dir.join(".env"), "ALPHA_URL=alpha://prod/0\nSECRET_KEY=x\n").unwrap();
    fs::write(dir.join("notes.md"), "my own file\n").unwrap();
}
