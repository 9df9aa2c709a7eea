// The catalog (templates/ and modules/) and its history (catalog-history/) are embedded
// with include_dir!, which cannot tell cargo which files it read; without this a changed
// module would not rebuild the binary.
fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=modules");
    println!("cargo:rerun-if-changed=catalog-history");
    // Tests that only root can run (switching to another account) are built ignored, with
    // their reason, when another user builds them: cargo then reports them as ignored
    // rather than as passed. (Tests are built and run by the same user.)
    println!("cargo::rustc-check-cfg=cfg(paxx_test_as_root)");
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.is_ok_and(|uid| uid == "0") {
        println!("cargo::rustc-cfg=paxx_test_as_root");
    }
    // Likewise the PostgreSQL tests, where no `initdb` is on PATH nor in Debian's
    // /usr/lib/postgresql/<version>/bin (the one test of those folders needs them).
    // Found when the build script runs: after installing PostgreSQL, `touch build.rs`.
    println!("cargo::rustc-check-cfg=cfg(paxx_test_has_postgres)");
    println!("cargo::rustc-check-cfg=cfg(paxx_test_debian_postgres)");
    let debian: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("initdb").is_file());
    let in_debian = debian.iter().any(|d| d.join("initdb").is_file());
    if on_path || in_debian {
        println!("cargo::rustc-cfg=paxx_test_has_postgres");
    }
    if in_debian {
        println!("cargo::rustc-cfg=paxx_test_debian_postgres");
    }
}
