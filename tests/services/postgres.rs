//! PostgreSQL from the fastapi template itself, as root, as an ordinary user, and from
//! Debian's folders off PATH. Skipped (with a message) only where `initdb` is nowhere.

use std::process::Command;

use super::accounts::chown_nobody;
use super::support::*;

/// PostgreSQL from the template itself: init, start, setup (role and database), a real
/// connection with the exported DATABASE_URL, stop; then a second start on the same state.
#[test]
fn postgres_starts_accepts_the_app_and_stops() {
    let Some(psql) = postgres_tools() else { return };
    let port = free_port();
    let p = Project::new(&[], &[("postgres", port)]);
    for round in 0..2 {
        let up = p.run(&["up", "--detach", "postgres"]);
        up.ok();
        assert_eq!(up.stderr.contains("initialising"), round == 0, "{up:#?}");
        assert_eq!(p.status_json()["services"][0]["healthy"], true);
        check_database(&p, &psql);
        let pid = p.pid("postgres").unwrap();
        p.run(&["down"]).ok();
        assert!(!alive(pid) && !port_open(port));
        p.assert_nothing_running();
    }
}

/// The same as an ordinary user (`nobody`): no account switching, initdb as that user.
#[test]
fn postgres_runs_for_an_ordinary_user_too() {
    let Some(psql) = postgres_tools() else { return };
    if !is_root() {
        eprintln!("skipped: needs root to become `nobody`");
        return;
    }
    let port = free_port();
    let mut p = Project::new(&[], &[("postgres", port)]);
    chown_nobody(&p);
    p.user = Some("nobody".into());
    p.run(&["up", "--detach", "postgres"]).ok();
    check_database(&p, &psql);
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// A fresh Debian machine after `apt-get install postgresql` has `initdb` and `postgres`
/// only in /usr/lib/postgresql/<version>/bin: `up` and `doctor` look there too.
#[test]
fn postgres_is_found_in_debian_folders_off_path() {
    let Some(psql) = postgres_tools() else { return };
    if !glob_postgres_bins()
        .iter()
        .any(|d| d.join("initdb").is_file())
    {
        eprintln!("skipped: no /usr/lib/postgresql/*/bin/initdb (not Debian's package)");
        return;
    }
    let port = free_port();
    let mut p = Project::new(&[], &[("postgres", port)]);
    p.path_env = Some("/usr/bin:/bin".into());
    let doctor = p.run(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("not on PATH; `paxx-compose up` also looks in /usr/lib/postgresql/*/bin"),
        "{doctor:#?}"
    );
    p.run(&["up", "--detach", "postgres"]).ok();
    check_database(&p, &psql);
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// `psql`, or None (and a message) when PostgreSQL is not installed at all.
fn postgres_tools() -> Option<String> {
    let initdb = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(glob_postgres_bins())
        .any(|d| d.join("initdb").is_file());
    if !initdb {
        eprintln!("skipped: no `initdb` on PATH nor in /usr/lib/postgresql/*/bin");
        return None;
    }
    Some("psql".into())
}

fn glob_postgres_bins() -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default()
}

fn check_database(p: &Project, psql: &str) {
    let env: serde_json::Value = serde_json::from_str(&p.run(&["env", "--json"]).stdout).unwrap();
    let url = env["DATABASE_URL"]
        .as_str()
        .unwrap()
        .replace("+asyncpg", "");
    let out = Command::new(psql)
        .args([
            &url,
            "-tAc",
            "select current_user || ' ' || current_database()",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "app app");
}
