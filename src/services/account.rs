//! Who runs a service that refuses root (PostgreSQL's `initdb` and `postgres` do) when
//! paxx-compose itself runs as root, as it does in CI.

use std::ffi::{CStr, CString};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::resolve::ResolvedService;

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The account `service` runs as: none (the current user) unless we are root and the
/// service refuses root; then the account named like the service (Debian's PostgreSQL
/// package creates `postgres`), else `nobody`.
pub fn for_service(service: &ResolvedService) -> Result<Option<Account>> {
    if !service.refuses_root || !is_root() {
        return Ok(None);
    }
    for name in [service.name.as_str(), "nobody"] {
        if let Some(account) = lookup(name) {
            return Ok(Some(account));
        }
    }
    bail!(
        "service `{}` refuses to run as root, and neither a `{}` nor a `nobody` account \
         exists to run it; create one (`useradd --system {}`) or run paxx-compose as a \
         normal user",
        service.name,
        service.name,
        service.name
    )
}

fn lookup(name: &str) -> Option<Account> {
    let c_name = CString::new(name).ok()?;
    // SAFETY: passwd is plain data; getpwnam_r fills it with pointers into `buf`, which
    // outlives every read below.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            c_name.as_ptr(),
            &raw mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &raw mut found,
        );
        if rc != 0 || found.is_null() {
            return None;
        }
        let home = CStr::from_ptr(pwd.pw_dir).to_string_lossy().into_owned();
        Some(Account {
            name: name.to_string(),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            home: PathBuf::from(home),
        })
    }
}

/// Runs `command` as `account`: its uid and gid (std drops supplementary groups), and
/// the HOME and USER a login would give it.
pub fn run_as(command: &mut Command, account: &Account) {
    command
        .uid(account.uid)
        .gid(account.gid)
        .env("HOME", &account.home)
        .env("USER", &account.name)
        .env("LOGNAME", &account.name);
}

/// Makes `state` the account's own, and checks that the account can reach it. `.paxx`
/// folders on the way are ours to open up; any other folder is the user's to fix.
pub fn hand_over(account: &Account, state: &Path, paxx_dir: &Path) -> Result<()> {
    let mut ancestors: Vec<&Path> = state.ancestors().skip(1).collect();
    ancestors.reverse();
    for dir in ancestors {
        let meta = fs::metadata(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
        if can_enter(account, &meta) {
            continue;
        }
        if dir.starts_with(paxx_dir) {
            let mode = meta.permissions().mode() | 0o755;
            fs::set_permissions(dir, fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot open up `{}`", dir.display()))?;
            continue;
        }
        bail!(
            "the `{}` account (used because this service refuses to run as root) cannot \
             enter `{}`; move the project under a folder others can enter (e.g. /srv or \
             /tmp), or allow it with `chmod o+x {}`",
            account.name,
            dir.display(),
            dir.display()
        );
    }
    chown_tree(state, account)
}

/// Whether `account` can enter `dir` and every folder above it.
pub fn can_reach(account: &Account, dir: &Path) -> bool {
    dir.ancestors()
        .all(|d| fs::metadata(d).is_ok_and(|m| can_enter(account, &m)))
}

/// Whether `account` may run the program at `path`: every folder on the way (through
/// symbolic links too) can be entered, and the file is executable for it.
pub fn can_run(account: &Account, path: &Path) -> bool {
    let Ok(real) = fs::canonicalize(path) else {
        return false;
    };
    let folders_open = [path, real.as_path()].iter().all(|p| {
        p.ancestors()
            .skip(1)
            .all(|dir| fs::metadata(dir).is_ok_and(|m| can_enter(account, &m)))
    });
    folders_open && fs::metadata(&real).is_ok_and(|m| can_enter(account, &m))
}

/// The execute (search, for a folder) bit that applies to `account`.
fn can_enter(account: &Account, meta: &fs::Metadata) -> bool {
    let mode = meta.mode();
    if meta.uid() == account.uid {
        mode & 0o100 != 0
    } else if meta.gid() == account.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

fn chown_tree(path: &Path, account: &Account) -> Result<()> {
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.uid() != account.uid || meta.gid() != account.gid {
        std::os::unix::fs::lchown(path, Some(account.uid), Some(account.gid)).with_context(
            || {
                format!(
                    "cannot give `{}` to the `{}` account",
                    path.display(),
                    account.name
                )
            },
        )?;
    }
    if meta.is_dir() {
        let entries =
            fs::read_dir(path).with_context(|| format!("cannot list `{}`", path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list `{}`", path.display()))?;
            chown_tree(&entry.path(), account)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_accounts_and_refuses_unknown_ones() {
        let root = lookup("root").expect("every Unix has root");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(lookup("no-such-account-paxx").is_none());
        let nobody = Account {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
            home: "/nonexistent".into(),
        };
        assert!(can_run(&nobody, Path::new("/bin/sh")));
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("tool");
        fs::write(&private, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        assert!(!can_run(&nobody, &private));
    }
}
