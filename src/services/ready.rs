//! Is a service ready, and is its port free: the probes `up`, `status` and `doctor` share.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::manifest::RedisKey;
use crate::resolve::ResolvedService;
use crate::services::{binary, process, redis_probe, signals};

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn tcp_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// Whether another program holds `port`: it cannot be bound, or it already answers.
pub fn port_in_use(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_err() || tcp_open(port)
}

/// What one readiness check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ready,
    /// Nothing accepts connections on the service's port.
    PortClosed(Option<u16>),
    /// The ready command ran to its end and said no.
    Failed {
        status: String,
        took: Duration,
    },
    /// The ready command was still running after `probe-timeout` and was stopped.
    TimedOut {
        took: Duration,
    },
    /// The ready command's program is not there.
    Missing(String),
    /// The `redis-key` probe's key is not (yet) in its Redis.
    KeyMissing {
        key: String,
        url: String,
    },
    /// The `redis-key` probe could not ask its Redis.
    RedisUnreachable {
        url: String,
        why: String,
    },
    Interrupted,
}

impl Outcome {
    pub fn is_ready(&self) -> bool {
        *self == Outcome::Ready
    }

    /// Why the service is not ready, as the end of a sentence about `service`.
    pub fn explain(&self, service: &ResolvedService) -> String {
        let command = || {
            service
                .ready
                .as_ref()
                .and_then(|r| r.command.as_deref())
                .map(super::shell_words)
                .unwrap_or_default()
        };
        match self {
            Outcome::Ready => "it is ready".into(),
            Outcome::PortClosed(Some(port)) => {
                format!("nothing accepted connections on 127.0.0.1:{port}")
            }
            Outcome::PortClosed(None) => "it has no port to connect to".into(),
            Outcome::Failed { status, took } => format!(
                "its probe `{}` last said no ({status}, after {:.1} s)",
                command(),
                took.as_secs_f64()
            ),
            Outcome::TimedOut { took } => format!(
                "its probe `{}` timed out: stopped after {:.1} s (`probe-timeout = {}`; raise \
                 it in the service's manifest if the probe is slow on this machine)",
                command(),
                took.as_secs_f64(),
                service.probe_timeout
            ),
            Outcome::Missing(program) => format!("its probe's program `{program}` is not found"),
            Outcome::KeyMissing { key, url } => {
                format!("its key `{key}` is not in the Redis at {url} (it sets it once running)")
            }
            Outcome::RedisUnreachable { url, why } => {
                format!("its probe could not ask the Redis at {url}: {why}")
            }
            Outcome::Interrupted => "interrupted".into(),
        }
    }
}

/// One readiness check: the port accepts a connection (when `ready.tcp`, or when no
/// `ready` is given and the service has a port), the `redis-key` exists and the ready
/// command exits 0 (each when given).
pub fn check(service: &ResolvedService, root: &Path) -> Outcome {
    let (tcp, command, key) = match &service.ready {
        Some(r) => (r.tcp, r.command.as_deref(), r.redis_key.as_ref()),
        None => (service.port.is_some(), None, None),
    };
    if tcp && !service.port.is_some_and(tcp_open) {
        return Outcome::PortClosed(service.port);
    }
    if let Some(RedisKey { url, key }) = key {
        let timeout = Duration::from_secs(service.probe_timeout);
        match redis_probe::key_exists(url, key, timeout) {
            Ok(true) => {}
            Ok(false) => {
                return Outcome::KeyMissing {
                    key: key.clone(),
                    url: url.clone(),
                }
            }
            Err(err) => {
                return Outcome::RedisUnreachable {
                    url: url.clone(),
                    why: format!("{err:#}"),
                }
            }
        }
    }
    match command {
        Some(command) => run_probe(
            command,
            root,
            &service.env,
            Duration::from_secs(service.probe_timeout),
        ),
        None => Outcome::Ready,
    }
}

pub fn probe(service: &ResolvedService, root: &Path) -> bool {
    check(service, root).is_ready()
}

/// Runs a probe command quietly, with the service's environment, in its own process
/// group so that stopping it also stops what it started (`uv run` starts Python).
fn run_probe(
    command: &[String],
    root: &Path,
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> Outcome {
    let Some(program) = command.first() else {
        return Outcome::Ready;
    };
    let Some(found) = binary::find(program, root) else {
        return Outcome::Missing(program.clone());
    };
    let began = Instant::now();
    let Ok(mut child) = Command::new(found.path)
        .args(&command[1..])
        .envs(env)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
    else {
        return Outcome::Missing(program.clone());
    };
    let pgid = child.id() as i32;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Outcome::Ready,
            Ok(Some(status)) => {
                return Outcome::Failed {
                    status: status.to_string(),
                    took: began.elapsed(),
                }
            }
            Ok(None) if signals::requested() => {
                process::kill_group(pgid);
                let _ = child.wait();
                return Outcome::Interrupted;
            }
            Ok(None) if began.elapsed() < timeout => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let took = began.elapsed();
                process::kill_group(pgid);
                let _ = child.wait();
                return Outcome::TimedOut { took };
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
        // On a shared machine another process may take the freed ephemeral port for a
        // moment (other tests pick free ports the same way): the port must be told free
        // once nobody holds it, so look again a few times before failing.
        let free = (0..50).any(|_| {
            let free = !port_in_use(port);
            if !free {
                std::thread::sleep(Duration::from_millis(100));
            }
            free
        });
        assert!(
            free,
            "port {port} still reported in use after its listener closed"
        );
    }

    #[test]
    fn a_slow_probe_is_waited_for_and_a_hung_one_timed_out_with_its_time() {
        let env = BTreeMap::new();
        let root = Path::new("/");
        let words = |text: &str| text.split(' ').map(String::from).collect::<Vec<_>>();
        let slow = run_probe(&words("sleep 1"), root, &env, Duration::from_secs(30));
        assert_eq!(slow, Outcome::Ready);
        let exit3 = ["sh", "-c", "exit 3"].map(String::from);
        let no = run_probe(&exit3, root, &env, Duration::from_secs(30));
        assert!(
            matches!(&no, Outcome::Failed { status, .. } if status.contains('3')),
            "{no:?}"
        );
        let began = Instant::now();
        let hung = run_probe(&words("sleep 30"), root, &env, Duration::from_millis(300));
        let Outcome::TimedOut { took } = hung else {
            panic!("{hung:?}")
        };
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the probe was stopped"
        );
    }
}
