//! The service supervisor, run for real: `up`, `down`, `status`, `env`, `doctor` on
//! projects made with `paxx-compose new`, with fixture services (tests/fixtures/
//! services-modules) and PostgreSQL itself. Each test has its own folder and ports.

mod support;

mod accounts;
mod postgres;
mod probes;
mod restart;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use support::*;

#[test]
fn detached_up_then_status_env_and_down() {
    let (web, api) = (free_port(), free_port());
    let p = Project::new(&["api"], &[("web", web), ("api", api)]);
    let up = p.run(&["up", "--detach", "api"]);
    up.ok();
    assert!(
        up.stderr
            .contains(&format!("web: ready on 127.0.0.1:{web}")),
        "{up:#?}"
    );
    assert!(up.stderr.contains("api: ready"), "{up:#?}");
    assert!(port_open(web) && port_open(api));
    let log = std::fs::read_to_string(p.path(".paxx/logs/api.log")).unwrap();
    assert!(
        log.contains("api setup ran"),
        "setup output belongs in the log: {log}"
    );

    let status = p.status_json();
    for (name, port) in [("web", web), ("api", api)] {
        let s = status["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        assert_eq!(s["running"], true, "{s}");
        assert_eq!(s["healthy"], true, "{s}");
        assert_eq!(s["port"], port);
        assert_eq!(s["pid"], p.pid(name).unwrap());
    }
    let postgres = &status["services"][0];
    assert_eq!(
        (&postgres["name"], &postgres["running"]),
        (&"postgres".into(), &false.into())
    );
    let text = p.run(&["status"]);
    assert!(text.stdout.contains("services:"), "{text:#?}");
    assert!(text.stdout.contains(&format!(":{web}")) && text.stdout.contains("healthy"));

    let env = p.run(&["env"]);
    env.ok();
    assert!(
        env.stdout
            .contains(&format!("export WEB_URL='http://127.0.0.1:{web}/'\n")),
        "{env:#?}"
    );
    assert!(env
        .stdout
        .contains("export DATABASE_URL='postgresql+asyncpg://"));
    assert_eq!(
        std::fs::read_to_string(p.path(".paxx/env")).unwrap(),
        env.stdout
    );
    let json: serde_json::Value = serde_json::from_str(&p.run(&["env", "--json"]).stdout).unwrap();
    assert_eq!(json["WEB_URL"], format!("http://127.0.0.1:{web}/"));
    // The shell agrees with the quoting.
    let echoed = Command::new("sh")
        .args(["-c", &format!("{}\nprintf %s \"$WEB_URL\"", env.stdout)])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&echoed.stdout),
        format!("http://127.0.0.1:{web}/")
    );

    let again = p.run(&["up", "--detach", "api"]);
    again.ok();
    assert!(again.stderr.contains("already running"), "{again:#?}");

    let pids = [p.pid("web").unwrap(), p.pid("api").unwrap()];
    let down = p.run(&["down"]);
    down.ok();
    let (api_at, web_at) = (
        down.stderr.find("api: stopped"),
        down.stderr.find("web: stopped"),
    );
    assert!(
        api_at.is_some() && api_at < web_at,
        "last started stops first: {down:#?}"
    );
    assert!(pids.iter().all(|pid| !alive(*pid)));
    assert!(!port_open(web) && !port_open(api));
    p.assert_nothing_running();
    assert_eq!(p.status_json()["services"][1]["running"], false);
    assert!(p.run(&["down"]).stderr.contains("nothing is running"));
}

#[test]
fn a_port_in_use_is_refused_before_anything_starts() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let p = Project::new(&["api"], &[("web", free_port()), ("api", port)]);
    let up = p.run(&["up", "--detach", "api"]);
    up.failed();
    assert!(
        up.stderr
            .contains(&format!("port {port} for service `api` is already in use")),
        "{up:#?}"
    );
    assert!(
        up.stderr.contains("[ports]") && up.stderr.contains("api = "),
        "{up:#?}"
    );
    assert!(up.stderr.contains("nothing was started"));
    p.assert_nothing_running();
    let doctor = p.run(&["doctor"]);
    doctor.failed();
    assert!(
        doctor.stdout.contains(&format!("api: port {port}")),
        "{doctor:#?}"
    );
}

#[test]
fn a_missing_program_names_its_nix_and_debian_packages() {
    let p = Project::new(
        &["ghost", "web"],
        &[("web", free_port()), ("ghost", free_port())],
    );
    let up = p.run(&["up", "--detach", "web", "ghost"]);
    up.failed();
    assert!(
        up.stderr.contains(
            "`paxx-test-ghost-server` (service `ghost`) not found on PATH: in Nix it comes \
             with `nix develop` (nixpkgs `ghost-nix`); on Debian: `apt-get install ghost-server`"
        ),
        "{up:#?}"
    );
    p.assert_nothing_running();

    let doctor = p.run(&["doctor", "--json"]);
    doctor.failed();
    let json: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "ghost: paxx-test-ghost-server")
        .unwrap();
    assert_eq!(check["status"], "missing");
    assert_eq!(check["fix"][1], "on Debian: `apt-get install ghost-server`");
    let web = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "web: python3");
    assert_eq!(web.unwrap()["status"], "ok");
}

#[test]
fn a_service_that_exits_at_start_shows_its_log_and_stops_the_rest() {
    let web = free_port();
    let p = Project::new(&["crash"], &[("web", web), ("crash", free_port())]);
    let up = p.run(&["up", "--detach", "crash"]);
    up.failed();
    assert!(
        up.stderr.contains("web: ready"),
        "web starts first: {up:#?}"
    );
    assert!(
        up.stderr
            .contains("crash exited while starting (exit status: 3)"),
        "{up:#?}"
    );
    assert!(
        up.stderr.contains("crash: config is broken"),
        "the log's tail: {up:#?}"
    );
    assert!(!port_open(web), "web was stopped again");
    p.assert_nothing_running();
}

#[test]
fn a_failed_init_removes_the_half_made_state_folder() {
    let p = Project::new(&["badinit"], &[("badinit", free_port())]);
    let up = p.run(&["up", "--detach", "badinit"]);
    up.failed();
    assert!(up.stderr.contains("disk full"), "{up:#?}");
    assert!(
        up.stderr.contains("initialising failed; removed"),
        "{up:#?}"
    );
    assert!(!p.path(".paxx/state/badinit").exists());
    p.assert_nothing_running();
}

#[test]
fn a_stale_pid_file_is_recovered_from() {
    let web = free_port();
    let p = Project::new(&["web"], &[("web", web)]);
    std::fs::create_dir_all(p.path(".paxx/run")).unwrap();
    // A pid that is gone, and a live pid that is another process than the one recorded.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    std::fs::write(p.path(".paxx/run/web.pid"), format!("{}\n", gone.id())).unwrap();
    let me = std::process::id();
    std::fs::write(
        p.path(".paxx/run/old.pid"),
        format!("{me}\nstart=1\nseq=1\n"),
    )
    .unwrap();
    assert_eq!(p.status_json()["services"][1]["running"], false);

    let up = p.run(&["up", "--detach", "web"]);
    up.ok();
    assert!(
        up.stderr.contains("web: removed a stale pid file"),
        "{up:#?}"
    );
    assert!(port_open(web));
    let down = p.run(&["down"]);
    down.ok();
    assert!(
        down.stderr
            .contains("old: was not running (removed a stale pid file"),
        "{down:#?}"
    );
    assert!(
        alive(me as i32),
        "down must not signal a pid that is another process now"
    );
    p.assert_nothing_running();
}

#[test]
fn ctrl_c_stops_a_foreground_up() {
    let (web, api) = (free_port(), free_port());
    let p = Project::new(&["api"], &[("web", web), ("api", api)]);
    let (mut up, stderr) = p.spawn(&["up", "api"]);
    wait_for("services ready", Duration::from_secs(30), || {
        stderr.lock().unwrap().contains("all ready")
    });
    let pids = [p.pid("web").unwrap(), p.pid("api").unwrap()];
    let supervisor_file = p.path(&format!(".paxx/up/{}.pid", up.id()));
    assert!(supervisor_file.exists());
    let _ = Command::new("curl")
        .arg(format!("http://127.0.0.1:{web}/"))
        .output();
    let _ = std::net::TcpStream::connect(("127.0.0.1", web));
    wait_for("web's prefixed output", Duration::from_secs(10), || {
        stderr.lock().unwrap().contains("web | Serving HTTP")
    });
    assert!(stderr.lock().unwrap().contains("api | api setup ran"));

    Command::new("kill")
        .args(["-INT", &up.id().to_string()])
        .status()
        .unwrap();
    let code = up.wait().unwrap();
    // The reader thread may still be behind the exit.
    wait_for("the last lines", Duration::from_secs(5), || {
        stderr.lock().unwrap().contains("web: stopped")
    });
    let text = stderr.lock().unwrap().clone();
    assert!(code.success(), "{text}");
    assert!(
        text.find("api: stopped") < text.find("web: stopped"),
        "{text}"
    );
    assert!(pids.iter().all(|pid| !alive(*pid)), "{text}");
    assert!(!supervisor_file.exists());
    p.assert_nothing_running();
}

#[test]
fn down_stops_a_foreground_up_and_single_services() {
    let (web, api) = (free_port(), free_port());
    let p = Project::new(&["api"], &[("web", web), ("api", api)]);
    let (mut up, stderr) = p.spawn(&["up", "api"]);
    wait_for("services ready", Duration::from_secs(30), || {
        stderr.lock().unwrap().contains("all ready")
    });
    // One service: the foreground `up` keeps the other.
    p.run(&["down", "api"]).ok();
    wait_for("api stopped", Duration::from_secs(10), || {
        stderr
            .lock()
            .unwrap()
            .contains("api: stopped (paxx-compose down)")
    });
    assert!(port_open(web) && !port_open(api));
    let down = p.run(&["down"]);
    down.ok();
    assert!(
        down.stderr.contains("asking `paxx-compose up`"),
        "{down:#?}"
    );
    assert!(up.wait().unwrap().success());
    p.assert_nothing_running();
}

#[test]
fn a_service_that_ignores_its_stop_signal_is_killed() {
    let p = Project::new(&["stubborn"], &[("stubborn", free_port())]);
    p.run(&["up", "-d", "stubborn"]).ok();
    let pid = p.pid("stubborn").unwrap();
    let down = p.run(&["down", "stubborn"]);
    down.ok();
    assert!(
        down.stderr.contains("killed: it did not stop in time"),
        "{down:#?}"
    );
    assert!(!alive(pid));
    p.assert_nothing_running();
}

#[test]
fn unknown_services_are_named() {
    let p = Project::new(&["web"], &[("web", free_port())]);
    let up = p.run(&["up", "webb"]);
    up.failed();
    assert!(
        up.stderr
            .contains("no service `webb` (did you mean `web`?)"),
        "{up:#?}"
    );
}

#[test]
fn down_clean_removes_the_data_of_the_services_named() {
    let (web, api) = (free_port(), free_port());
    let p = Project::new(&["api"], &[("web", web), ("api", api)]);
    p.run(&["up", "--detach", "api"]).ok();
    std::fs::write(p.path(".paxx/state/web/data"), "kept until --clean").unwrap();
    p.run(&["down"]).ok();
    assert!(
        p.path(".paxx/state/web/data").is_file(),
        "`down` keeps data"
    );
    let clean = p.run(&["down", "--clean", "web"]);
    clean.ok();
    assert!(
        clean
            .stderr
            .contains("web: removed its data (.paxx/state/web)"),
        "{clean:#?}"
    );
    assert!(!p.path(".paxx/state/web").exists());
    assert!(
        p.path(".paxx/state/api").exists(),
        "only the services named"
    );
    p.assert_nothing_running();
}
