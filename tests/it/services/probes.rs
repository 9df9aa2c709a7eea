//! Readiness probes that are slow are waited for; one that hangs is stopped after
//! `probe-timeout`, and the error names it, says it timed out and how long it ran.

use super::support::*;

/// The seconds `up` says `name` took to be ready: "<name>: ready … (pid <pid>, 6.1 s)".
fn ready_after(said: &str, name: &str) -> f64 {
    let line = said
        .lines()
        .find(|l| l.starts_with(&format!("{name}: ready")))
        .unwrap_or_else(|| panic!("no ready line for {name}: {said}"));
    line.rsplit(", ")
        .next()
        .and_then(|t| t.strip_suffix(" s)"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// The probe takes 6 s, more than the 5 s each probe once had: `up` waits for it.
#[test]
fn a_probe_slower_than_five_seconds_is_waited_for() {
    let port = free_port();
    let p = Project::new(&["slowprobe"], &[("slowprobe", port)]);
    let up = p.run(&["up", "--detach", "slowprobe"]);
    up.ok();
    assert!(
        ready_after(&up.stderr, "slowprobe") >= 6.0,
        "ready only once the probe said so: {up:#?}"
    );
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// A probe that never ends: stopped after `probe-timeout` (2 s), again until
/// `ready-timeout` (3 s) has passed; the error says which probe, and for how long.
#[test]
fn a_hung_probe_times_out_and_the_error_says_so() {
    let p = Project::new(&["hungprobe"], &[("hungprobe", free_port())]);
    let up = p.run(&["up", "--detach", "hungprobe"]);
    up.failed();
    assert!(
        up.stderr
            .contains("hungprobe: still waiting: its probe `sleep 600` timed out"),
        "said when it first happens: {up:#?}"
    );
    assert!(
        up.stderr
            .contains("hungprobe did not become ready within 3 s (`ready-timeout`; raise it in the service's manifest if it needs longer): its probe `sleep 600` timed out: stopped after 2."),
        "{up:#?}"
    );
    assert!(up.stderr.contains("(`probe-timeout = 2`;"), "{up:#?}");
    p.assert_nothing_running();
}

/// `ready.redis-key`: not ready until the key is in Redis (set 1.5 s after the start),
/// then ready at once; `status` asks the same. A key that never comes times out, and the
/// error names the key and the Redis.
#[test]
fn a_redis_key_probe_waits_for_its_key() {
    let port = free_port();
    let p = Project::new(&["redismark"], &[("redis", port)]);
    let up = p.run(&["up", "--detach", "redis", "marker"]);
    up.ok();
    assert!(
        ready_after(&up.stderr, "marker") >= 1.5,
        "ready only once the key was set: {up:#?}"
    );
    let status = p.status_json();
    let marker = service(&status, "marker");
    assert_eq!(marker["healthy"], true, "{marker}");
    assert_eq!(
        marker["ready"]["redis_key"],
        serde_json::json!({"url": format!("redis://127.0.0.1:{port}/2"), "key": "marker:alive"})
    );

    let never = p.run(&["up", "--detach", "nomarker"]);
    never.failed();
    assert!(
        never.stderr.contains(&format!(
            "nomarker did not become ready within 2 s (`ready-timeout`; raise it in the \
             service's manifest if it needs longer): its key `nomarker:alive` is not in the \
             Redis at redis://127.0.0.1:{port}/2"
        )),
        "{never:#?}"
    );
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// Services start side by side: `follower` waits for `quick` (its `after`) only, not for
/// `slow`, whose probe takes 6 s; `up` returns once all three are ready.
#[test]
fn a_service_waits_only_for_the_services_it_names_in_after() {
    // Every service of the project starts, the template's PostgreSQL too: a port of its
    // own, not the default another PostgreSQL on this machine may hold.
    let ports = [
        ("slow", free_port()),
        ("quick", free_port()),
        ("follower", free_port()),
        ("postgres", free_port()),
    ];
    let p = Project::new(&["sidebyside"], &ports);
    let up = p.run(&["up", "--detach"]);
    up.ok();
    let line_of = |name: &str| {
        up.stderr
            .lines()
            .position(|l| l.starts_with(&format!("{name}: ready on")))
            .unwrap_or_else(|| panic!("no ready line for {name}: {up:#?}"))
    };
    assert!(line_of("quick") < line_of("follower"), "{up:#?}");
    assert!(line_of("follower") < line_of("slow"), "{up:#?}");
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}
