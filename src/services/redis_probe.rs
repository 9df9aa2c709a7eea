//! The `redis-key` readiness probe: does a key exist in a Redis. A few lines of the Redis
//! protocol (RESP) over one TCP connection, so that a worker marking itself alive there
//! is seen within milliseconds of doing so, without a process started for each look.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Where a `redis://` URL points: host, port, password, database number.
#[derive(Debug, PartialEq)]
struct Target {
    host: String,
    port: u16,
    password: Option<String>,
    db: u32,
}

/// `redis://[[user]:password@]host[:port][/db]`, as redis-py and arq read it (no TLS, no
/// query options: what a development Redis started by `up` needs).
fn parse(url: &str) -> Result<Target> {
    let rest = url
        .strip_prefix("redis://")
        .with_context(|| format!("`{url}` is not a redis:// URL"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let password = userinfo
        .map(|u| u.split_once(':').map_or(u, |(_, p)| p).to_string())
        .filter(|p| !p.is_empty());
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse().with_context(|| format!("bad port in `{url}`"))?,
        ),
        None => (hostport, 6379),
    };
    let db = match path.split(['?', '#']).next().unwrap_or("") {
        "" => 0,
        n => n
            .parse()
            .with_context(|| format!("bad database number in `{url}`"))?,
    };
    Ok(Target {
        host: if host.is_empty() { "127.0.0.1" } else { host }.to_string(),
        port,
        password,
        db,
    })
}

/// One command as a RESP array of bulk strings.
fn encode(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n{w}\r\n", w.len()).as_bytes());
    }
    out
}

/// Whether `key` exists in the Redis at `url`; an error when it cannot be asked (not
/// listening, refused the password, not Redis). Each step may take `timeout`.
pub fn key_exists(url: &str, key: &str, timeout: Duration) -> Result<bool> {
    let target = parse(url)?;
    let addr = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve `{}`", target.host))?
        .next()
        .with_context(|| format!("no address for `{}`", target.host))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let db = target.db.to_string();
    let mut commands: Vec<Vec<&str>> = Vec::new();
    if let Some(password) = &target.password {
        commands.push(vec!["AUTH", password]);
    }
    if target.db != 0 {
        commands.push(vec!["SELECT", &db]);
    }
    commands.push(vec!["EXISTS", key]);
    // Sent at once (pipelined): one round trip.
    let request: Vec<u8> = commands.iter().flat_map(|c| encode(c)).collect();
    writer.write_all(&request)?;
    let mut reply = String::new();
    for command in &commands {
        reply.clear();
        reader.read_line(&mut reply)?;
        let line = reply.trim_end();
        match line.as_bytes().first() {
            Some(b'-') => bail!("Redis said `{}` to {}", &line[1..], command[0]),
            Some(b'+') if command[0] != "EXISTS" => {}
            Some(b':') if command[0] == "EXISTS" => return Ok(line[1..] != *"0"),
            _ => bail!("not a Redis reply to {}: `{line}`", command[0]),
        }
    }
    bail!("no reply to EXISTS")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn reads_the_urls_redis_clients_read() {
        let t = parse("redis://127.0.0.1:6380/2").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.db, t.password),
            ("127.0.0.1", 6380, 2, None)
        );
        let t = parse("redis://:secret@localhost").unwrap();
        assert_eq!(
            (t.port, t.db, t.password.as_deref()),
            (6379, 0, Some("secret"))
        );
        let t = parse("redis://user:pw@h:1/0").unwrap();
        assert_eq!(t.password.as_deref(), Some("pw"));
        assert!(parse("http://127.0.0.1:6379").is_err());
        assert!(parse("redis://127.0.0.1:nope").is_err());
    }

    /// A one-connection server that checks the request and gives canned replies.
    fn serve(expected: &'static str, replies: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut got = vec![0; expected.len()];
            conn.read_exact(&mut got).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), expected);
            conn.write_all(replies.as_bytes()).unwrap();
        });
        format!("redis://:pw@127.0.0.1:{port}/3")
    }

    #[test]
    fn asks_with_auth_and_database_and_reads_the_answer() {
        let request = "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n\
                       *2\r\n$6\r\nEXISTS\r\n$1\r\nk\r\n";
        let second = Duration::from_secs(5);
        assert!(key_exists(&serve(request, "+OK\r\n+OK\r\n:1\r\n"), "k", second).unwrap());
        assert!(!key_exists(&serve(request, "+OK\r\n+OK\r\n:0\r\n"), "k", second).unwrap());
        let refused = key_exists(&serve(request, "-WRONGPASS invalid\r\n"), "k", second);
        assert!(
            format!("{:#}", refused.unwrap_err()).contains("WRONGPASS"),
            "a refusal is an error, not a missing key"
        );
    }

    #[test]
    fn nothing_listening_is_an_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("redis://127.0.0.1:{port}/0");
        assert!(key_exists(&url, "k", Duration::from_secs(1)).is_err());
    }
}
