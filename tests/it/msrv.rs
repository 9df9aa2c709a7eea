//! `rust-version` is true: every package Cargo.lock puts in the build graph (dependencies,
//! build and dev dependencies, for each system the flake builds on) compiles with it. The
//! flake builds paxx-compose with the rustc of the pinned nixpkgs, which is older than the
//! newest crates; `cargo update` without the MSRV-aware resolver would break `nix build`
//! while every test here still passed on a newer rustc.

use std::process::Command;

/// The targets of the flake's systems (flake.nix `systems`).
const TARGETS: [&str; 4] = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

fn our_rust_version() -> String {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("read Cargo.toml");
    let manifest: toml::Table = manifest.parse().expect("parse Cargo.toml");
    manifest["package"]["rust-version"]
        .as_str()
        .expect("Cargo.toml [package] rust-version")
        .to_string()
}

/// `(name, version, rust_version)` of every package in the locked build graph for `target`.
fn locked_packages(target: &str) -> Vec<(String, String, Option<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", target])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata --locked --offline --filter-platform {target} failed (`cargo fetch` \
         downloads what it needs):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
                p["rust_version"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn every_locked_package_builds_with_our_rust_version() {
    let ours = our_rust_version();
    let mut too_new = Vec::new();
    let mut seen = 0;
    for target in TARGETS {
        let packages = locked_packages(target);
        assert!(
            packages.iter().any(|(name, ..)| name == "paxx-compose"),
            "cargo metadata for {target} lists no paxx-compose"
        );
        seen += packages.len();
        for (name, pkg_version, needs) in packages {
            if let Some(needs) = needs {
                if version(&needs) > version(&ours) {
                    let line = format!("{name} {pkg_version} needs rustc {needs}");
                    if !too_new.contains(&line) {
                        too_new.push(line);
                    }
                }
            }
        }
    }
    assert!(
        seen > 4 * 10,
        "cargo metadata listed almost nothing: {seen}"
    );
    assert!(
        too_new.is_empty(),
        "Cargo.toml says rust-version = \"{ours}\" (the pinned nixpkgs' rustc), but Cargo.lock \
         holds:\n  {}\nRe-lock with `CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update`.",
        too_new.join("\n  ")
    );
}

#[test]
fn rust_version_compares_numerically() {
    assert!(version("1.88") > version("1.86"));
    assert!(version("1.86.0") == version("1.86"));
    assert!(version("1.100") > version("1.99.9"));
    assert!(version("1.85.1") < version("1.86"));
}
