//! Unit tests of placeholders and start order.

use super::*;

#[test]
fn fills_placeholders() {
    let ports = BTreeMap::from([("redis", Some(6380)), ("pg", Some(5433))]);
    let got = fill_placeholders(
        "{state} {port} {port:pg} {project}",
        Some("redis"),
        &ports,
        "/p",
    )
    .unwrap();
    assert_eq!(got, "/p/.paxx/state/redis 6380 5433 /p");
    assert!(fill_placeholders("{port:nope}", None, &ports, "/p").is_err());
    assert!(fill_placeholders("{port}", None, &ports, "/p").is_err());
    assert!(fill_placeholders("{what}", None, &ports, "/p").is_err());
    assert_eq!(
        fill_placeholders("a { b", None, &ports, "/p").unwrap(),
        "a { b"
    );
}

fn svc(name: &str, after: &[&str]) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        package: None,
        debian: None,
        command: vec!["x".into()],
        init: vec![],
        setup: vec![],
        port: None,
        after: after.iter().map(|s| s.to_string()).collect(),
        ready: None,
        refuses_root: false,
        env: BTreeMap::new(),
        stop_signal: StopSignal::Term,
        fallbacks: vec![],
        ready_timeout: None,
        stop_timeout: None,
    }
}

#[test]
fn orders_services_stably_by_after() {
    let (a, b, c) = (svc("worker", &["redis"]), svc("pg", &[]), svc("redis", &[]));
    let order: Vec<_> = start_order(&[&a, &b, &c])
        .unwrap()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(order, ["pg", "redis", "worker"]);
    let (x, y) = (svc("x", &["y"]), svc("y", &["x"]));
    assert!(start_order(&[&x, &y])
        .unwrap_err()
        .to_string()
        .contains("cycle"));
}
