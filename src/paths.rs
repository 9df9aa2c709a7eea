//! Project-relative paths: the only kind of path the planner deals in.

use anyhow::{bail, Result};

/// Checks that `path` is a plain relative path inside the project: no `..`, no root,
/// no empty or `.` components, `/` as separator.
pub fn check_relative(path: &str) -> Result<()> {
    if path.is_empty() {
        bail!("empty path");
    }
    if path.starts_with('/') || path.contains('\\') {
        bail!("`{path}` is absolute; paths must be relative to the project root");
    }
    for part in path.split('/') {
        match part {
            "" | "." => bail!("`{path}` has an empty or `.` component"),
            ".." => bail!("`{path}` leaves the project (`..`)"),
            _ => {}
        }
    }
    Ok(())
}

/// Directories that hold `path`, innermost first (`a/b/c` → `a/b`, `a`).
pub fn parents(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = path;
    std::iter::from_fn(move || {
        let cut = rest.rfind('/')?;
        rest = &rest[..cut];
        Some(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_paths_leaving_the_project() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            "",
            "a\\b",
        ] {
            assert!(check_relative(bad).is_err(), "{bad} accepted");
        }
        assert!(check_relative("app/features/redis.py").is_ok());
        assert!(check_relative(".env.example").is_ok());
    }

    #[test]
    fn lists_parents_innermost_first() {
        assert_eq!(parents("a/b/c.py").collect::<Vec<_>>(), vec!["a/b", "a"]);
        assert_eq!(parents("c.py").count(), 0);
    }
}
