//! `upgrade`'s safety and state: dry-run, idempotence, the git check, an injected
//! failure, conflicts in `status`, versions, the catalog history.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::upgrade::*;
use common::*;

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit_every_kind(&dir);
    let before = tree(&dir);
    let run = paxx(&ws, &dir, NEW, &["upgrade", "--dry-run"]);
    assert_eq!(
        run.code, 1,
        "the exit code says a conflict would be written"
    );
    assert!(
        run.stdout
            .contains("--- a/app/main.py\n+++ b/app/main.py\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("+<<<<<<< yours\n"), "{}", run.stdout);
    assert!(run
        .stderr
        .contains("would upgrade `shop` from paxx 0.9.0 to 0.10.0"));
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
}

#[test]
fn upgrading_twice_changes_nothing_the_second_time() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit(
        &dir,
        "app/alpha.py",
        "NAME = \"alpha\"",
        "NAME = \"my-alpha\"",
    );
    paxx(&ws, &dir, NEW, &["upgrade"]).ok();
    let once = tree(&dir);
    let again = paxx(&ws, &dir, NEW, &["upgrade"]);
    again.ok();
    assert_eq!(again.stderr, "already up to date (paxx 0.10.0)\n");
    assert_eq!(differences(&once, &tree(&dir)), Vec::<String>::new());
}

#[test]
fn a_failure_midway_leaves_the_tree_as_it_was() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit_every_kind(&dir);
    let (before, before_folders) = (tree(&dir), folders(&dir));
    for after in [0, 1, 5, 12] {
        let mut cmd = ws.command(&dir, &["upgrade"]);
        cmd.env("PAXX_CATALOG", fixtures().join(NEW))
            .env("PAXX_CATALOG_HISTORY", fixtures())
            .env("PAXX_TEST_FAIL_AFTER_RENAMES", after.to_string());
        let run = ws.finish(cmd);
        run.failed();
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
        assert_eq!(
            differences(&before, &tree(&dir)),
            Vec::<String>::new(),
            "after {after}"
        );
        assert_eq!(folders(&dir), before_folders, "after {after}");
    }
    // And then it works.
    assert_eq!(paxx(&ws, &dir, NEW, &["upgrade"]).code, 1);
    assert!(dir.join("app/alpha_api.py").is_file());
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn uncommitted_changes_are_refused_unless_forced() {
    if which::which("git").is_err() {
        eprintln!("git is not installed: skipped");
        return;
    }
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "generated"]);
    edit(&dir, "app/settings.py", "DEBUG = False", "DEBUG = True");
    fs::write(dir.join("scratch.txt"), "x\n").unwrap();
    let before = tree(&dir);
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.failed();
    insta::assert_snapshot!(run.stderr);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
    // A dry run writes nothing, so it needs no clean tree.
    paxx(&ws, &dir, NEW, &["upgrade", "--dry-run"]).ok();
    paxx(&ws, &dir, NEW, &["upgrade", "--force"]).ok();
    assert_eq!(
        read(&dir, "app/settings.py"),
        "DEBUG = True\nNAME = \"app\"\n"
    );
}

#[test]
fn a_clean_git_tree_upgrades_without_force() {
    if which::which("git").is_err() {
        eprintln!("git is not installed: skipped");
        return;
    }
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "generated"]);
    paxx(&ws, &dir, NEW, &["upgrade"]).ok();
}

#[test]
fn status_shows_conflicts_until_their_markers_are_gone() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit(
        &dir,
        "app/routes.py",
        "PREFIX = \"/api\"",
        "PREFIX = \"/shop\"",
    );
    assert_eq!(paxx(&ws, &dir, NEW, &["upgrade"]).code, 1);
    let status = paxx(&ws, &dir, NEW, &["status"]);
    assert!(
        status.ok().stdout.contains("conflict: app/routes.py"),
        "{}",
        status.stdout
    );
    let json = paxx(&ws, &dir, NEW, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(json["conflicts"], serde_json::json!(["app/routes.py"]));
    // An upgrade with conflicts open exits 1 and says so.
    let again = paxx(&ws, &dir, NEW, &["upgrade"]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains("CONFLICT in 1 file(s): `app/routes.py`"),
        "{}",
        again.stderr
    );

    fs::write(
        dir.join("app/routes.py"),
        "ROUTES = [\n    \"/health\",\n]\nPREFIX = \"/shop\"\n",
    )
    .unwrap();
    let json = paxx(&ws, &dir, NEW, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(json["conflicts"], serde_json::json!([]));
    // The next upgrade tidies the record away.
    let tidy = paxx(&ws, &dir, NEW, &["upgrade"]);
    assert!(
        tidy.ok().stderr.contains("resolved: app/routes.py"),
        "{}",
        tidy.stderr
    );
    assert!(!read(&dir, "paxx.toml").contains("[upgrade]"));
}

#[test]
fn a_project_at_the_current_version_is_up_to_date() {
    let ws = Workspace::embedded_only();
    paxx(&ws, ws.path(), NEW, &["new", "shop", "--template", "mini"]).ok();
    let run = paxx(&ws, &ws.project("shop"), NEW, &["upgrade"]);
    assert_eq!(run.ok().stderr, "already up to date (paxx 0.10.0)\n");
}

#[test]
fn a_version_the_history_does_not_know_is_a_clear_error() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit(
        &dir,
        "paxx.toml",
        "paxx-version = \"0.9.0\"",
        "paxx-version = \"0.8.0\"",
    );
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.failed();
    insta::assert_snapshot!(run.stderr);
    edit(
        &dir,
        "paxx.toml",
        "paxx-version = \"0.8.0\"",
        "paxx-version = \"0.11.0\"",
    );
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    assert!(
        run.failed().stderr.contains("newer than this paxx-compose"),
        "{}",
        run.stderr
    );
}

#[test]
fn add_and_remove_keep_a_project_on_its_own_catalog_until_upgraded() {
    let ws = Workspace::embedded_only();
    let args = ["new", "shop", "--template", "mini", "--feature", "alpha"];
    paxx(&ws, ws.path(), OLD, &args).ok();
    let dir = ws.project("shop");
    let run = paxx(&ws, &dir, NEW, &["add", "beta"]);
    assert!(
        run.ok()
            .stderr
            .contains("this project is at paxx 0.9.0: using that version's modules"),
        "{}",
        run.stderr
    );
    // beta as 0.9.0 had it (no worker yet), and the project still at 0.9.0.
    assert!(dir.join("app/beta.py").is_file() && !dir.join("app/beta_worker.py").exists());
    assert!(read(&dir, "paxx.toml").contains("paxx-version = \"0.9.0\""));
    paxx(&ws, &dir, NEW, &["remove", "alpha"]).ok();
    assert!(!dir.join("app/alpha.py").exists());

    // Without that version in the history, the way forward is an upgrade.
    let mut cmd = ws.command(&dir, &["add", "alpha"]);
    cmd.env("PAXX_CATALOG", fixtures().join(NEW))
        .env("PAXX_CATALOG_HISTORY", ws.path().join("empty"));
    let run = ws.finish(cmd);
    assert!(
        run.failed()
            .stderr
            .contains("run `paxx-compose upgrade` first"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_snapshot_in_the_history_works_like_the_catalog_folder() {
    let ws = Workspace::embedded_only();
    let history = ws.path().join("history");
    let mut cmd = ws.command(ws.path(), &["snapshot-catalog", "--out", "history"]);
    cmd.env("PAXX_CATALOG", fixtures().join(OLD));
    let run = ws.finish(cmd);
    assert!(
        run.ok().stderr.contains("stored catalog 0.9.0"),
        "{}",
        run.stderr
    );
    assert!(history.join("0.9.0.toml").is_file());

    // The same edits upgraded with folders and with the snapshot give the same tree.
    let dir = old_project(&ws);
    edit_every_kind(&dir);
    fs::rename(&dir, ws.project("copy")).unwrap();
    old_project(&ws);
    edit_every_kind(&dir);
    let mut cmd = ws.command(&dir, &["upgrade"]);
    cmd.env("PAXX_CATALOG", fixtures().join(NEW))
        .env("PAXX_CATALOG_HISTORY", &history);
    assert_eq!(ws.finish(cmd).code, 1);
    assert_eq!(paxx(&ws, &ws.project("copy"), NEW, &["upgrade"]).code, 1);
    assert_eq!(
        differences(&tree(&dir), &tree(&ws.project("copy"))),
        Vec::<String>::new()
    );

    // Snapshotting a version again with other content is refused.
    let mut cmd = ws.command(
        ws.path(),
        &["snapshot-catalog", "--out", "history", "--as", "0.9.0"],
    );
    cmd.env("PAXX_CATALOG", fixtures().join(NEW));
    assert!(ws
        .finish(cmd)
        .failed()
        .stderr
        .contains("already exists with other content"));
}
