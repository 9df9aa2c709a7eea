//! Finding a service's programs: PATH first (inside `nix develop` it holds the pinned
//! ones), then folders where distributions keep server programs off PATH — Debian's
//! `postgresql` package puts `initdb` and `postgres` in /usr/lib/postgresql/<version>/bin
//! only, so a fresh CI machine that ran `apt-get install postgresql` still works.

use std::path::{Path, PathBuf};

use crate::resolve::ResolvedService;
use crate::services::account::{self, Account};

/// Where `find` looks after PATH, as said to users.
pub const FALLBACK: &str = "/usr/lib/postgresql/*/bin";

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub path: PathBuf,
    /// False when found in a fallback folder.
    pub on_path: bool,
}

/// `program` as a path to run; a name with a `/` is taken relative to `root`.
pub fn find(program: &str, root: &Path) -> Option<Found> {
    find_for(program, root, None).ok()
}

/// Like `find`, but only a program `account` may run (when given): root's PATH can hold
/// folders other accounts cannot enter (a pyenv under /root), and a later PATH entry
/// may serve. Err(Some(path)) names the program found that the account cannot run.
pub fn find_for(
    program: &str,
    root: &Path,
    account: Option<&Account>,
) -> Result<Found, Option<PathBuf>> {
    let candidates: Vec<Found> = if program.contains('/') {
        vec![Found {
            path: root.join(program),
            on_path: true,
        }]
    } else {
        let on_path = which::which_all(program)
            .into_iter()
            .flatten()
            .map(|path| Found {
                path,
                on_path: true,
            });
        let fallback = fallback_dirs().into_iter().map(|dir| Found {
            path: dir.join(program),
            on_path: false,
        });
        on_path.chain(fallback).collect()
    };
    let mut refused = None;
    for found in candidates.into_iter().filter(|f| is_executable(&f.path)) {
        match account {
            Some(a) if !account::can_run(a, &found.path) => {
                refused.get_or_insert(found.path);
            }
            _ => return Ok(found),
        }
    }
    Err(refused)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// /usr/lib/postgresql/<version>/bin, highest version first.
fn fallback_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((version?, e.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// Every program a service runs: its command, init, setup and ready commands, once each.
pub fn programs(service: &ResolvedService) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let ready = service.ready.as_ref().and_then(|r| r.command.as_ref());
    let commands = std::iter::once(&service.command)
        .chain(&service.init)
        .chain(&service.setup)
        .chain(ready);
    for command in commands {
        if let Some(program) = command.first() {
            if !out.contains(program) {
                out.push(program.clone());
            }
        }
    }
    out
}

/// Where to get `program`, under Nix and under Debian.
pub fn how_to_get(service: &ResolvedService) -> Vec<String> {
    let mut out = Vec::new();
    match &service.package {
        Some(package) => out.push(format!(
            "in Nix it comes with `nix develop` (nixpkgs `{package}`)"
        )),
        None => out.push("in Nix it comes with `nix develop`".to_string()),
    }
    if let Some(debian) = &service.debian {
        out.push(format!("on Debian: `apt-get install {debian}`"));
    }
    for fallback in &service.fallbacks {
        if let Some(program) = fallback.command.first() {
            out.push(format!(
                "or, without Nix, install `{program}` to run the fallback ({})",
                fallback.why
            ));
        }
    }
    out
}

/// The error for a program that exists but that `account` cannot run.
pub fn not_runnable(program: &Path, service: &ResolvedService, account: &Account) -> String {
    format!(
        "`{}` (service `{}`) cannot be run by the `{}` account (used because the service \
         refuses root), and PATH holds no other copy it can run; put one in a folder \
         everyone can enter (e.g. /usr/local/bin), or {}",
        program.display(),
        service.name,
        account.name,
        how_to_get(service).join("; ")
    )
}

/// The error for a program that is nowhere to be found.
pub fn missing(program: &str, service: &ResolvedService) -> String {
    let looked = if looks_like_postgres(service) {
        format!(" (nor in {FALLBACK})")
    } else {
        String::new()
    };
    format!(
        "`{program}` (service `{}`) not found on PATH{looked}: {}",
        service.name,
        how_to_get(service).join("; ")
    )
}

fn looks_like_postgres(service: &ResolvedService) -> bool {
    [&service.package, &service.debian]
        .iter()
        .any(|p| p.as_deref().is_some_and(|p| p.starts_with("postgresql")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path_and_by_path() {
        let sh = find("sh", Path::new("/")).expect("sh is on PATH");
        assert!(sh.on_path);
        assert!(find("bin/sh", Path::new("/")).is_some());
        assert!(find("paxx-no-such-program", Path::new("/")).is_none());
    }
}
