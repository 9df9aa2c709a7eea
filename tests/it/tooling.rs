//! The repository's own tooling: tests/debian_packages.py, which tests/all.sh and
//! bench/run.sh ask for the Debian packages of the catalog's services.

use std::path::Path;
use std::process::Command;

use crate::common::repo;

fn debian_packages(catalog: &Path, missing: bool) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/debian_packages.py"))
        .arg("--catalog")
        .arg(catalog);
    if missing {
        cmd.arg("--missing");
    }
    let out = cmd.output().expect("python3 runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn debian_packages_come_from_the_templates_and_the_modules() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "templates/t.toml",
        "[[services]]\nname = \"db\"\ndebian = \"paxx-test-db\"\ncommand = [\"paxx-test-no-such-program\"]\n",
    );
    write(
        "modules/m/module.toml",
        "[[services]]\nname = \"shell\"\ndebian = \"paxx-test-shell\"\ncommand = [\"sh\", \"-c\", \"true\"]\n",
    );
    write(
        "modules/n/module.toml",
        "[[services]]\nname = \"worker\"\ncommand = [\"uv\", \"run\", \"worker\"]\n",
    );
    assert_eq!(
        debian_packages(dir.path(), false),
        "paxx-test-db\npaxx-test-shell\n"
    );
    // `sh` is on PATH: its package is not needed.
    assert_eq!(debian_packages(dir.path(), true), "paxx-test-db\n");
}

#[test]
fn the_catalogs_services_name_their_debian_packages() {
    let packages = debian_packages(&repo(), false);
    for package in ["postgresql", "redis-server"] {
        assert!(packages.lines().any(|p| p == package), "{packages}");
    }
}
