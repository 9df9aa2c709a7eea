//! The project's `.env`: a development `SECRET_KEY` of its own, written by `new` and `init`.
//!
//! A key published in a template is no secret: every project made from it could forge the
//! others' signed URLs and tokens. So each project gets a random one, in `.env`, which the
//! template's `.gitignore` keeps out of git. From then on the file is the user's: it is
//! never in paxx.toml's hash registry, `add`/`remove`/`upgrade` never touch it, and it is
//! written only where there is none.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

pub const FILE: &str = ".env";

/// 32 bytes from the operating system's random source, as 64 hex digits (256 bits).
pub fn random_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut bytes))
        .context("cannot read random bytes from `/dev/urandom` for SECRET_KEY")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What `.env` holds when paxx writes it.
pub fn contents(key: &str) -> String {
    format!(
        "# This machine's settings (git ignores this file); environment variables win over it.\n\
         # SECRET_KEY was generated for this project alone by paxx-compose: it signs tokens\n\
         # and URLs in development. Production sets its own in the environment.\n\
         SECRET_KEY={key}\n"
    )
}

/// Writes `root/.env` with a new key unless a `.env` is there already (even an empty one,
/// or a dangling link: it is the user's). Returns whether it wrote one. The file is made
/// beside its target with mode 0600 and hard-linked into place, so it appears whole or
/// not at all, and never replaces one made meanwhile.
pub fn write_if_absent(root: &Path) -> Result<bool> {
    let target = root.join(FILE);
    if fs::symlink_metadata(&target).is_ok() {
        return Ok(false);
    }
    let staging = root.join(format!(".env.paxx-{}", std::process::id()));
    let written = (|| -> std::io::Result<bool> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staging)?;
        file.write_all(contents(&random_key().map_err(std::io::Error::other)?).as_bytes())?;
        file.sync_all()?;
        match fs::hard_link(&staging, &target) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(err),
        }
    })();
    let _ = fs::remove_file(&staging);
    written.with_context(|| format!("cannot write `{}`", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_digits_and_differ() {
        let (a, b) = (random_key().unwrap(), random_key().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn an_existing_env_is_kept_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "SECRET_KEY=mine\n").unwrap();
        assert!(!write_if_absent(dir.path()).unwrap());
        assert_eq!(
            fs::read_to_string(dir.path().join(FILE)).unwrap(),
            "SECRET_KEY=mine\n"
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "a staging file was left behind");
    }

    #[test]
    fn a_new_env_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert!(write_if_absent(dir.path()).unwrap());
        let meta = fs::metadata(dir.path().join(FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text
            .lines()
            .any(|l| l.starts_with("SECRET_KEY=") && l.len() == 75));
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "a staging file was left behind");
    }
}
