//! The read-only commands: `list`, `show`, `status`.

mod common;

use common::*;

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
