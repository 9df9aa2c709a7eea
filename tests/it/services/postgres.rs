//! PostgreSQL from the fastapi template itself, as root, as an ordinary user, and from
//! Debian's folders off PATH. Ignored, with the reason, where `initdb` was nowhere when the
//! tests were built (build.rs), and the Debian one where Debian's package is not installed.

use std::process::Command;

use super::accounts::chown_nobody;
use super::support::*;

/// PostgreSQL from the template itself: init, start, setup (role and database), a real
/// connection with the exported DATABASE_URL, stop; then a second start on the same state.
#[test]
#[cfg_attr(
    not(paxx_test_has_postgres),
    ignore = "needs PostgreSQL: no initdb on PATH nor in /usr/lib/postgresql/*/bin when the tests were built"
)]
fn postgres_starts_accepts_the_app_and_stops() {
    let port = free_port();
    let p = Project::new(&[], &[("postgres", port)]);
    for round in 0..2 {
        let up = p.run(&["up", "--detach", "postgres"]);
        up.ok();
        assert_eq!(up.stderr.contains("initialising"), round == 0, "{up:#?}");
        assert_eq!(p.status_json()["services"][0]["healthy"], true);
        check_database(&p);
        let pid = p.pid("postgres").unwrap();
        p.run(&["down"]).ok();
        assert!(!alive(pid) && !port_open(port));
        p.assert_nothing_running();
    }
}

/// The same as an ordinary user (`nobody`): no account switching, initdb as that user.
#[test]
#[cfg_attr(not(paxx_test_as_root), ignore = "needs root to become `nobody`")]
#[cfg_attr(
    all(paxx_test_as_root, not(paxx_test_has_postgres)),
    ignore = "needs PostgreSQL: no initdb on PATH nor in /usr/lib/postgresql/*/bin when the tests were built"
)]
fn postgres_runs_for_an_ordinary_user_too() {
    let port = free_port();
    let mut p = Project::new(&[], &[("postgres", port)]);
    chown_nobody(&p);
    p.user = Some("nobody".into());
    p.run(&["up", "--detach", "postgres"]).ok();
    check_database(&p);
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// As root, with the project in a folder the `postgres` account cannot enter (`/root`,
/// a `mktemp -d` folder): its data goes to /var/lib/paxx/<project>-<hash>/postgres,
/// linked from `.paxx/state/postgres`; it stays across `down`, and `down --clean` removes it.
#[test]
#[cfg_attr(
    not(paxx_test_as_root),
    ignore = "needs root: only then does PostgreSQL run as another account"
)]
#[cfg_attr(
    all(paxx_test_as_root, not(paxx_test_has_postgres)),
    ignore = "needs PostgreSQL: no initdb on PATH nor in /usr/lib/postgresql/*/bin when the tests were built"
)]
fn as_root_postgres_in_a_private_folder_keeps_its_data_outside_the_project() {
    use std::os::unix::fs::MetadataExt;
    let port = free_port();
    let p = Project::new_private(&[], &[("postgres", port)]);
    let parent = p.root.parent().unwrap();
    assert_eq!(std::fs::metadata(parent).unwrap().mode() & 0o777, 0o700);
    let up = p.run(&["up", "--detach", "postgres"]);
    up.ok();
    assert!(
        up.stderr.contains(
            "postgres: the `postgres` account it runs as cannot enter the project folder"
        ),
        "{up:#?}"
    );
    let link = p.path(".paxx/state/postgres");
    let data = std::fs::read_link(&link).unwrap();
    let cleanup = Cleanup(data.clone());
    assert!(data.starts_with("/var/lib/paxx/"), "{data:?}");
    assert!(data.join("PG_VERSION").is_file());
    let pid = p.pid("postgres").unwrap();
    let uid = std::fs::metadata(format!("/proc/{pid}")).unwrap().uid();
    assert_ne!(uid, 0);
    assert_eq!(std::fs::metadata(&data).unwrap().uid(), uid);
    check_database(&p);
    assert_eq!(p.status_json()["services"][0]["healthy"], true);
    p.run(&["down"]).ok();
    assert!(data.join("PG_VERSION").is_file(), "`down` keeps the data");

    let again = p.run(&["up", "--detach", "postgres"]);
    again.ok();
    assert!(!again.stderr.contains("initialising"), "{again:#?}");
    check_database(&p);
    let clean = p.run(&["down", "--clean"]);
    clean.ok();
    assert!(
        clean.stderr.contains(&format!(
            "postgres: removed its data ({}, the link .paxx/state/postgres)",
            data.display()
        )),
        "{clean:#?}"
    );
    assert!(!data.exists() && !data.parent().unwrap().exists());
    assert!(std::fs::symlink_metadata(&link).is_err());
    p.assert_nothing_running();
    drop(cleanup);
}

/// Removes a folder under /var/lib/paxx even when the test fails half-way.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        if let Some(parent) = self.0.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// A fresh Debian machine after `apt-get install postgresql` has `initdb` and `postgres`
/// only in /usr/lib/postgresql/<version>/bin: `up` and `doctor` look there too.
#[test]
#[cfg_attr(
    not(paxx_test_debian_postgres),
    ignore = "needs Debian's postgresql package: no /usr/lib/postgresql/*/bin/initdb when the tests were built"
)]
fn postgres_is_found_in_debian_folders_off_path() {
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
    check_database(&p);
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// The client the checks connect with (Debian puts it on PATH even where the server's
/// programs are only in /usr/lib/postgresql/<version>/bin).
const PSQL: &str = "psql";

fn check_database(p: &Project) {
    let env: serde_json::Value = serde_json::from_str(&p.run(&["env", "--json"]).stdout).unwrap();
    let url = env["DATABASE_URL"]
        .as_str()
        .unwrap()
        .replace("+asyncpg", "");
    let out = Command::new(PSQL)
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
