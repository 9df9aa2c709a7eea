//! Service output: every line goes to `.paxx/logs/<service>.log` as is, and in a
//! foreground `up` also to stderr behind a `name | ` prefix, coloured per service when
//! stderr is a terminal and NO_COLOR is unset.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Cyan, yellow, green, magenta, blue, red: distinct on dark and light backgrounds.
const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 31];

#[derive(Debug, Clone)]
pub struct Prefixes {
    width: usize,
    colour: bool,
}

impl Prefixes {
    /// Prefixes padded to the longest of `names`.
    pub fn new<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        let colour = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Prefixes {
            width: names.map(str::len).max().unwrap_or(0),
            colour,
        }
    }

    /// `name | `, the `index`-th service's colour when colour is on.
    pub fn prefix(&self, name: &str, index: usize) -> String {
        let text = format!("{name:<width$} | ", width = self.width);
        if self.colour {
            format!("\x1b[{}m{text}\x1b[0m", COLOURS[index % COLOURS.len()])
        } else {
            text
        }
    }
}

pub type SharedLog = Arc<Mutex<File>>;

/// Copies `source` line by line into `log`, and to stderr behind `prefix`.
pub fn pump(source: impl Read + Send + 'static, log: SharedLog, prefix: String) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Ok(mut file) = log.lock() {
                let _ = file.write_all(&line);
            }
            echo(&prefix, &line);
        }
    })
}

/// Writes `bytes` to stderr, each line behind `prefix`. Errors are dropped: a closed
/// terminal must not bring the services down.
pub fn echo(prefix: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut err = std::io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(err, "{prefix}{line}");
    }
}

/// The last `n` lines of `path` (fewer when it is shorter or unreadable).
pub fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// `last_lines` indented under a heading naming the log, for error messages.
pub fn tail_note(path: &Path, n: usize) -> String {
    let lines = last_lines(path, n);
    if lines.is_empty() {
        return format!("(`{}` is empty)", path.display());
    }
    format!(
        "last lines of `{}`:\n    {}",
        path.display(),
        lines.join("\n    ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_prefixes_and_keeps_the_tail() {
        let p = Prefixes {
            width: 8,
            colour: false,
        };
        assert_eq!(p.prefix("web", 0), "web      | ");
        let coloured = Prefixes {
            width: 3,
            colour: true,
        };
        assert_eq!(coloured.prefix("web", 1), "\x1b[33mweb | \x1b[0m");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        assert_eq!(last_lines(&log, 2), ["b", "c"]);
        assert!(tail_note(&dir.path().join("none"), 2).contains("is empty"));
    }
}
