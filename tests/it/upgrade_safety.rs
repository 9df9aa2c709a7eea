//! `upgrade`'s safety and state: dry-run, idempotence, the git rules and the undo, an
//! injected failure, conflicts in `status` (and `add`/`remove` waiting for them), versions,
//! the catalog history.

use std::fs;

use crate::common::upgrade::*;
use crate::common::*;

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
    insta::assert_snapshot!(run.stderr);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
    // The count is of the files listed as changing, paxx.toml among them; kept files are
    // listed but not counted; each counted file has its diff.
    let listed: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("  ") && !l.contains("kept"))
        .collect();
    assert!(listed.contains(&"  updated: paxx.toml"), "{}", run.stderr);
    let diffs = run.stdout.lines().filter(|l| l.starts_with("+++ ")).count();
    assert_eq!(diffs, listed.len(), "one line for each diff: {listed:?}");
    assert!(
        run.stderr.contains(&format!(
            "dry run: {diffs} file(s) would change, 3 kept as they are; nothing was written"
        )),
        "{}",
        run.stderr
    );
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
    commit(&dir, "mine");
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
    commit(&dir, "mine");
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

#[test]
fn uncommitted_changes_are_refused_unless_forced() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit(&dir, "app/settings.py", "DEBUG = False", "DEBUG = True");
    fs::write(dir.join("scratch.txt"), "x\n").unwrap();
    let before = tree(&dir);
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.failed();
    insta::assert_snapshot!(run.stderr);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
    // A dry run writes nothing, so it needs no clean tree.
    paxx(&ws, &dir, NEW, &["upgrade", "--dry-run"]).ok();
    let forced = paxx(&ws, &dir, NEW, &["upgrade", "--force"]);
    assert!(
        forced.ok().stderr.contains(
            "note: the project had uncommitted changes (--force): git cannot tell the \
             upgrade's changes from yours"
        ),
        "{}",
        forced.stderr
    );
    assert_eq!(
        read(&dir, "app/settings.py"),
        "DEBUG = True\nNAME = \"app\"\n"
    );
}

#[test]
fn outside_a_git_work_tree_upgrade_needs_force() {
    let ws = Workspace::embedded_only();
    let args = ["new", "shop", "--template", "mini", "--feature", "alpha"];
    paxx(&ws, ws.path(), OLD, &args).ok();
    let dir = ws.project("shop");
    edit(
        &dir,
        "app/routes.py",
        "PREFIX = \"/api\"",
        "PREFIX = \"/shop\"",
    );
    let before = tree(&dir);
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.failed();
    insta::assert_snapshot!(run.stderr);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
    assert_eq!(paxx(&ws, &dir, NEW, &["upgrade", "--dry-run"]).code, 1);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
    let forced = paxx(&ws, &dir, NEW, &["upgrade", "--force"]);
    assert_eq!(forced.code, 1, "the conflict: {}", forced.stderr);
    assert!(
        forced.stderr.contains(
            "warning: `[TMP]/shop` is not in a git work tree (--force): nothing can show \
             or take back this upgrade's changes"
        ),
        "{}",
        forced.stderr
    );
    assert!(read(&dir, "app/routes.py").contains("<<<<<<< yours"));
}

#[test]
fn the_undo_it_prints_restores_everything_but_what_it_names() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    // .env is the user's own settings, ignored by git (the template's .gitignore).
    fs::write(dir.join(".env"), "ALPHA_URL=alpha://prod/0\n").unwrap();
    let before = tree(&dir);
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.ok();
    assert!(
        run.stderr.contains(
            "to undo it: `git checkout -- . && git clean -fd` (your work tree was clean)"
        ),
        "{}",
        run.stderr
    );
    let named: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("not undone by git: "))
        .collect();
    assert_eq!(
        named,
        vec!["`.env` (git ignores it): settings renamed (migration)"],
        "{}",
        run.stderr
    );
    git(&dir, &["checkout", "--", "."]);
    git(&dir, &["clean", "-fd"]);
    assert_eq!(differences(&before, &tree(&dir)), vec![".env".to_string()]);
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
    commit(&dir, "mine");
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
    // `add` and `remove` wait for the markers to go, as `upgrade` does.
    let before = tree(&dir);
    for args in [
        &["add", "beta"][..],
        &["remove", "alpha"],
        &["add", "beta", "--dry-run"],
    ] {
        let run = paxx(&ws, &dir, NEW, args);
        run.failed();
        insta::assert_snapshot!("add_and_remove_wait_for_the_markers", run.stderr);
    }
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());

    fs::write(
        dir.join("app/routes.py"),
        "ROUTES = [\n    \"/health\",\n]\nPREFIX = \"/shop\"\n",
    )
    .unwrap();
    let json = paxx(&ws, &dir, NEW, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(json["conflicts"], serde_json::json!([]));
    // The next upgrade tidies the record away, under the same rule as any upgrade: not
    // while the resolution is uncommitted (that is said), then once it is committed.
    let toml = read(&dir, "paxx.toml");
    let waits = paxx(&ws, &dir, NEW, &["upgrade"]);
    insta::assert_snapshot!(waits.ok().stderr);
    assert_eq!(read(&dir, "paxx.toml"), toml);
    commit(&dir, "resolved");
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
    commit(&dir, "mine");
    fs::rename(&dir, ws.project("copy")).unwrap();
    old_project(&ws);
    edit_every_kind(&dir);
    commit(&dir, "mine");
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
