//! The read-only commands: `list`, `show`, `status`.

use std::fs;

use crate::common::upgrade::{edit, old_project, paxx, NEW, OLD};
use crate::common::*;

#[test]
fn list_marks_enabled_features() {
    let ws = Workspace::new();
    ws.run(&["new", "app", "--feature", "jobs"]).ok();
    let run = ws.run_in(&ws.project("app"), &["list"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("* jobs ")),
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("+ cache ")),
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("  sms ")),
        "{}",
        run.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&ws.run_in(&ws.project("app"), &["list", "--json"]).stdout).unwrap();
    let cache = json
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "cache")
        .unwrap();
    assert_eq!(cache["enabled"], true);
    assert_eq!(cache["explicit"], false);
}

#[test]
fn show_describes_a_module() {
    let ws = Workspace::new();
    let run = ws.run(&["show", "cache"]);
    run.ok();
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn status_json_is_stable() {
    let ws = Workspace::new();
    ws.run(&["new", "app", "--feature", "jobs"]).ok();
    let dir = ws.project("app");
    std::fs::write(
        dir.join("paxx.toml"),
        std::fs::read_to_string(dir.join("paxx.toml")).unwrap() + "\n[ports]\ncache = 7001\n",
    )
    .unwrap();
    let run = ws.run_in(&dir, &["status", "--json"]);
    run.ok();
    let mut json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // The template's own services and packages change as it grows; pin the features' part.
    let services: Vec<serde_json::Value> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] != "postgres")
        .cloned()
        .collect();
    json["services"] = services.into();
    json["packages"] = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| *p == "redis")
        .cloned()
        .collect::<Vec<_>>()
        .into();
    json["env"] = json["env"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "DATABASE_URL")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    insta::assert_json_snapshot!(json);
}

#[test]
fn help_is_there_for_every_command() {
    let ws = Workspace::new();
    for cmd in [
        "new", "init", "add", "remove", "list", "show", "status", "up", "down", "env", "doctor",
        "upgrade",
    ] {
        let run = ws.run(&[cmd, "--help"]);
        run.ok();
        assert!(
            run.stdout.contains("Usage: paxx-compose"),
            "{cmd}: {}",
            run.stdout
        );
    }
    let version = ws.run(&["--version"]);
    assert!(version.ok().stdout.starts_with("paxx-compose "));
}

fn status_json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.ok().stdout).unwrap()
}

#[test]
fn status_reports_template_files_against_the_projects_own_version() {
    let ws = Workspace::embedded_only();
    // Named `shop`, at paxx 0.9.0; 0.10.0 changed app/main.py and dropped app/legacy.py.
    let dir = old_project(&ws);
    let run = paxx(&ws, &dir, NEW, &["status"]);
    assert!(
        run.ok()
            .stdout
            .contains("generated files: as paxx wrote them"),
        "{}",
        run.stdout
    );
    edit(&dir, "app/settings.py", "DEBUG = False", "DEBUG = True");
    fs::remove_file(dir.join("app/legacy.py")).unwrap();
    edit(
        &dir,
        "pyproject.toml",
        "line-length = 88",
        "line-length = 120",
    );
    edit(&dir, ".env.example", "LOG_LEVEL=INFO", "LOG_LEVEL=DEBUG");
    let run = paxx(&ws, &dir, NEW, &["status"]);
    for line in [
        "modified: .env.example",
        "modified: app/settings.py",
        "modified: pyproject.toml",
        "deleted:  app/legacy.py",
    ] {
        assert!(run.ok().stdout.contains(line), "{line}:\n{}", run.stdout);
    }
    let json = status_json(&paxx(&ws, &dir, NEW, &["status", "--json"]));
    assert_eq!(
        json["modified"],
        serde_json::json!([".env.example", "app/settings.py", "pyproject.toml"])
    );
    assert_eq!(json["missing"], serde_json::json!(["app/legacy.py"]));
}

#[test]
fn status_is_clean_on_a_project_grown_feature_by_feature() {
    let ws = Workspace::embedded_only();
    ws.run(&["new", "app", "--name", "shop"]).ok();
    let dir = ws.project("app");
    // Not in the order `new` would add them: settings blocks and dependencies sit
    // differently from a project generated with all three at once.
    for feature in ["tasks", "storage", "email", "metrics"] {
        ws.run_in(&dir, &["add", feature]).ok();
    }
    ws.run_in(&dir, &["remove", "storage"]).ok();
    let json = status_json(&ws.run_in(&dir, &["status", "--json"]));
    assert_eq!(json["modified"], serde_json::json!([]), "{json}");
    assert_eq!(json["missing"], serde_json::json!([]), "{json}");
    // The user's own dependency, and a feature's setting changed: both the user's.
    edit(
        &dir,
        "pyproject.toml",
        "dependencies = [\n",
        "dependencies = [\n    \"httpx>=0.27\",\n",
    );
    edit(
        &dir,
        ".env.example",
        "TASKS_MAX_TRIES=5",
        "TASKS_MAX_TRIES=9",
    );
    let json = status_json(&ws.run_in(&dir, &["status", "--json"]));
    assert_eq!(
        json["modified"],
        serde_json::json!([".env.example", "pyproject.toml"])
    );
}

#[test]
fn status_says_what_to_do_when_versions_differ() {
    let ws = Workspace::embedded_only();
    let args = ["new", "shop", "--template", "mini"];
    paxx(&ws, ws.path(), NEW, &args).ok();
    // A project newer than this paxx-compose: upgrading cannot help, a newer one can.
    let run = paxx(&ws, &ws.project("shop"), OLD, &["status"]);
    insta::assert_snapshot!(run.ok().stdout);
    let upgrade = paxx(&ws, &ws.project("shop"), OLD, &["upgrade"]);
    assert!(
        upgrade
            .failed()
            .stderr
            .contains("paxx-compose 0.10.0 or newer"),
        "{}",
        upgrade.stderr
    );
    // An older one: upgrade.
    let args = ["new", "old", "--template", "mini"];
    paxx(&ws, ws.path(), OLD, &args).ok();
    let run = paxx(&ws, &ws.project("old"), NEW, &["status"]);
    assert!(
        run.ok().stdout.contains(
            "upgrade:  this paxx-compose carries paxx 0.10.0: run `paxx-compose upgrade`"
        ),
        "{}",
        run.stdout
    );
}
