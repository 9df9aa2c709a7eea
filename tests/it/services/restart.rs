//! A service that exits while `up` runs: said at once (in the terminal or
//! `.paxx/logs/up.log`, and in its own log), shown by `status` with its exit code and
//! last lines, and restarted as its policy says. Real Redis (Debian's `redis-server`,
//! which tests/all.sh installs) and fixture services that fail on purpose.

use std::process::Command;
use std::time::Duration;

use super::support::*;

fn kill9(pid: i32) {
    let ok = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_default()
}

/// `up --detach` leaves a supervisor behind: Redis killed with SIGKILL is noticed,
/// said, recorded and restarted on the same port, and `down` ends it all.
#[test]
fn a_killed_redis_is_restarted_by_the_background_supervisor() {
    let port = free_port();
    let p = Project::new(&["redis"], &[("redis", port)]);
    p.run(&["up", "--detach", "redis"]).ok();
    let first = p.pid("redis").unwrap();
    kill9(first);
    wait_for("redis restarted", Duration::from_secs(60), || {
        p.pid("redis").is_some_and(|pid| pid != first) && port_open(port)
    });
    let said = read(&p, ".paxx/logs/up.log");
    assert!(
        said.contains("redis exited (signal: 9 (SIGKILL)) after")
            && said.contains("restarting in 1 s (restart 1 of 5)"),
        "{said}"
    );
    let log = read(&p, ".paxx/logs/redis.log");
    assert!(
        log.contains("[paxx-compose] redis exited (signal: 9 (SIGKILL))"),
        "the service's own log says why it started again: {log}"
    );
    assert!(log.contains("Ready to accept connections"), "{log}");
    wait_for("the restart recorded", Duration::from_secs(10), || {
        service(&p.status_json(), "redis")["last_exit"]["next"] == "restarted"
    });
    let status = p.status_json();
    let redis = service(&status, "redis");
    assert_eq!(redis["running"], true, "{redis}");
    assert_eq!(redis["restarts"], 1, "{redis}");
    assert_eq!(redis["last_exit"]["signal"], 9, "{redis}");
    assert_eq!(redis["last_exit"]["code"], serde_json::Value::Null);
    let text = p.run(&["status"]);
    assert!(
        text.stdout
            .contains("healthy; restarted after it exited (signal: 9 (SIGKILL))"),
        "{text:#?}"
    );
    let down = p.run(&["down"]);
    down.ok();
    assert!(down.stderr.contains("redis: stopped"), "{down:#?}");
    assert!(!port_open(port));
    p.assert_nothing_running();
    assert!(p.status_json()["services"][1]["last_exit"].is_null());
}

/// The same in a foreground `up`: said in the terminal, restarted, Ctrl-C still stops all.
#[test]
fn a_killed_redis_is_restarted_by_a_foreground_up() {
    let port = free_port();
    let p = Project::new(&["redis"], &[("redis", port)]);
    let (mut up, stderr) = p.spawn(&["up", "redis"]);
    wait_for("services ready", Duration::from_secs(60), || {
        stderr.lock().unwrap().contains("all ready")
    });
    let first = p.pid("redis").unwrap();
    kill9(first);
    wait_for("the restart", Duration::from_secs(60), || {
        stderr.lock().unwrap().matches("redis: ready on").count() == 2
    });
    assert!(stderr
        .lock()
        .unwrap()
        .contains("redis exited (signal: 9 (SIGKILL))"));
    assert!(port_open(port) && p.pid("redis") != Some(first));
    Command::new("kill")
        .args(["-INT", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(up.wait().unwrap().success(), "{}", stderr.lock().unwrap());
    p.assert_nothing_running();
}

/// A service that fails every time: restarted `restart-retries` times with a growing
/// delay, then given up on; `status` shows its exit code and last lines; the service
/// beside it keeps running (detached).
#[test]
fn a_service_that_keeps_failing_is_given_up_on_and_status_shows_why() {
    let web = free_port();
    let p = Project::new(&["flaky", "web"], &[("web", web)]);
    p.run(&["up", "--detach", "web", "flaky"]).ok();
    wait_for("flaky given up on", Duration::from_secs(90), || {
        service(&p.status_json(), "flaky")["last_exit"]["next"] == "gave-up"
    });
    let said = read(&p, ".paxx/logs/up.log");
    let at = |text: &str| {
        said.find(text)
            .unwrap_or_else(|| panic!("`{text}` in {said}"))
    };
    assert!(
        at("restarting in 1 s (restart 1 of 2)") < at("restarting in 2 s (restart 2 of 2)")
            && at("restarting in 2 s (restart 2 of 2)")
                < at("gave up after 2 restarts in a row (`restart-retries = 2`)"),
        "{said}"
    );
    let status = p.status_json();
    let flaky = service(&status, "flaky");
    assert_eq!(flaky["running"], false);
    assert_eq!(flaky["last_exit"]["code"], 4, "{flaky}");
    let lines = flaky["last_exit"]["last_lines"].to_string();
    assert!(lines.contains("flaky: out of cheese"), "{flaky}");
    let text = p.run(&["status"]).stdout;
    assert!(
        text.contains("exited (exit status: 4)")
            && text.contains("gave up after 2 restarts")
            && text.contains("last lines of its log:")
            && text.contains("flaky: out of cheese"),
        "{text}"
    );
    assert!(port_open(web), "the other service keeps running");
    assert_eq!(service(&status, "web")["running"], true);
    p.run(&["down"]).ok();
    p.assert_nothing_running();
}

/// `restart = "never"` in a foreground `up`: the service is left stopped, the others
/// are stopped, `up` fails with the log's tail, and `status` still tells what happened.
#[test]
fn restart_never_in_the_foreground_stops_everything_and_says_why() {
    let web = free_port();
    let p = Project::new(&["oneshot"], &[("web", web)]);
    let (mut up, stderr) = p.spawn(&["up", "oneshot"]);
    let code = up.wait().unwrap();
    wait_for("the last lines", Duration::from_secs(10), || {
        stderr.lock().unwrap().contains("error:")
    });
    let text = stderr.lock().unwrap().clone();
    assert!(!code.success(), "{text}");
    assert!(
        text.contains("oneshot exited (exit status: 4) after ")
            && text.contains("not restarted (`restart = \"never\"`); stopped the other services"),
        "{text}"
    );
    assert!(text.contains("oneshot: out of cheese"), "{text}");
    assert!(!port_open(web));
    let status = p.run(&["status"]).stdout;
    assert!(
        status.contains("exited (exit status: 4)") && status.contains("oneshot: out of cheese"),
        "{status}"
    );
    p.assert_nothing_running();
}

/// A restart that is pending shows in `status`, and `down` calls it off.
#[test]
fn down_calls_off_a_pending_restart() {
    let p = Project::new(&["patient"], &[]);
    p.run(&["up", "--detach", "patient"]).ok();
    wait_for("the exit", Duration::from_secs(30), || {
        service(&p.status_json(), "patient")["last_exit"]["next"] == "restarting"
    });
    let text = p.run(&["status"]).stdout;
    assert!(
        text.contains("exited (exit status: 4)") && text.contains("; restarting in "),
        "{text}"
    );
    let down = p.run(&["down", "patient"]);
    down.ok();
    assert!(
        down.stderr
            .contains("patient: its pending restart is called off"),
        "{down:#?}"
    );
    p.assert_nothing_running();
    assert!(service(&p.status_json(), "patient")["last_exit"].is_null());
}
