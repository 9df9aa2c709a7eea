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
    ServiceSpec::for_test(name, after)
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

#[test]
fn a_state_folder_elsewhere_replaces_state_everywhere_for_that_service_only() {
    let catalog = Catalog::load().unwrap();
    let enabled = vec!["redis".to_string()];
    let states = BTreeMap::from([(
        "postgres".to_string(),
        "/var/lib/paxx/x/postgres".to_string(),
    )]);
    let moved = resolve_with_states(
        &catalog,
        "fastapi",
        &enabled,
        &BTreeMap::new(),
        "/p",
        &states,
    )
    .unwrap();
    let plain = resolve(&catalog, "fastapi", &enabled, &BTreeMap::new(), "/p").unwrap();
    let (pg, plain_pg) = (&moved.services[0], &plain.services[0]);
    assert_eq!(pg.state, "/var/lib/paxx/x/postgres");
    assert_eq!(plain_pg.state, "/p/.paxx/state/postgres");
    let swap = |words: &Vec<String>| -> Vec<String> {
        words
            .iter()
            .map(|w| w.replace("/p/.paxx/state/postgres", "/var/lib/paxx/x/postgres"))
            .collect()
    };
    assert!(plain_pg.command.contains(&plain_pg.state));
    assert_eq!(pg.command, swap(&plain_pg.command));
    assert_eq!(pg.init, plain_pg.init.iter().map(swap).collect::<Vec<_>>());
    assert_eq!(moved.services[1], plain.services[1], "redis keeps its own");
    assert_eq!(moved.env, plain.env);
}
