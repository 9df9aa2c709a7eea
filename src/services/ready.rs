//! Is a service ready, and is its port free: the probes `up`, `status` and `doctor` share.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::resolve::ResolvedService;
use crate::services::binary;

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn tcp_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// Whether another program holds `port`: it cannot be bound, or it already answers.
pub fn port_in_use(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_err() || tcp_open(port)
}

/// One readiness check: the port accepts a connection (when `ready.tcp`, or when no
/// `ready` is given and the service has a port) and the ready command exits 0 (when given).
pub fn probe(service: &ResolvedService, root: &Path) -> bool {
    let (tcp, command) = match &service.ready {
        Some(r) => (r.tcp, r.command.as_deref()),
        None => (service.port.is_some(), None),
    };
    if tcp {
        match service.port {
            Some(port) if tcp_open(port) => {}
            _ => return false,
        }
    }
    match command {
        Some(command) => command_succeeds(command, root, &service.env),
        None => true,
    }
}

/// Runs a probe command quietly, with the service's environment, killing it if it hangs.
fn command_succeeds(
    command: &[String],
    root: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> bool {
    let Some(found) = command.first().and_then(|p| binary::find(p, root)) else {
        return false;
    };
    let Ok(mut child) = std::process::Command::new(found.path)
        .args(&command[1..])
        .envs(env)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_a_taken_port_from_a_free_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(port_in_use(port));
        assert!(tcp_open(port));
        drop(listener);
        assert!(!port_in_use(port));
    }
}
