//! Accounts: as root, a service that refuses root runs as another account; as an
//! ordinary user, everything runs as that user.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use super::support::*;

/// As root, a service that refuses root runs (init, command, setup) as another account,
/// and owns its state; the logs stay root's.
#[test]
#[cfg_attr(not(paxx_test_as_root), ignore = "only root can switch accounts")]
fn as_root_a_service_that_refuses_root_runs_as_another_account() {
    let p = Project::new(&["rootless"], &[("rootless", free_port())]);
    p.run(&["up", "-d", "rootless"]).ok();
    let state = p.path(".paxx/state/rootless");
    let uid_of = |file: &str| std::fs::read_to_string(state.join(file)).unwrap();
    let pid = p.pid("rootless").unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uid = uid_line.split_whitespace().nth(1).unwrap().to_string();
    assert_ne!(uid, "0");
    assert_eq!(uid_of("init-uid"), uid);
    assert_eq!(uid_of("setup-uid"), uid);
    assert_eq!(std::fs::metadata(&state).unwrap().uid().to_string(), uid);
    assert_eq!(
        std::fs::metadata(p.path(".paxx/logs/rootless.log"))
            .unwrap()
            .uid(),
        0
    );
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// The same service as an ordinary user runs as that user, with no switching.
#[test]
#[cfg_attr(
    not(paxx_test_as_root),
    ignore = "needs root to become `nobody` (as a user, every other test runs this path)"
)]
fn as_an_ordinary_user_everything_runs_as_that_user() {
    let mut p = Project::new(&["rootless"], &[("rootless", free_port())]);
    chown_nobody(&p);
    p.user = Some("nobody".into());
    p.run(&["up", "-d", "rootless"]).ok();
    let init = std::fs::read_to_string(p.path(".paxx/state/rootless/init-uid")).unwrap();
    assert_eq!(init, "65534");
    p.run(&["status"]).ok();
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

pub fn chown_nobody(p: &Project) {
    let ok = Command::new("chown")
        .args(["-R", "nobody:", &path_str(&p.root)])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
