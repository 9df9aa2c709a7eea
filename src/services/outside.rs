//! State kept outside the project, for a service that runs as another account (as root,
//! PostgreSQL runs as `postgres`) when that account cannot enter the project: under
//! `/root`, or a `mktemp -d` folder (mode 0700). Its data then lives in
//! `/var/lib/paxx/<project>-<hash>/<service>` (the parents root's own, mode 0711: the
//! account can pass through but not list them), and `.paxx/state/<service>` is a
//! symbolic link to it, so that `down`, `status` and a later `up` find it again.
//! `down --clean` removes it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::hash::content_hash;
use crate::resolve::{state_dir, ResolvedService};
use crate::services::account;

/// Where such state goes: /var/lib holds programs' lasting state. Not /var/tmp, which
/// systemd-tmpfiles empties of files unused for 30 days: a database's files, piecemeal.
pub const BASE: &str = "/var/lib/paxx";

/// The state folder of each service that does not keep it in `.paxx/state/<name>`: the
/// target of a link left there by an earlier `up`, or a new folder under BASE for a
/// service whose account cannot enter the project.
pub fn states(root: &Path, services: &[ResolvedService]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for service in services {
        let link = in_project(root, &service.name);
        if let Some(target) = link_target(&link) {
            out.insert(service.name.clone(), target.display().to_string());
            continue;
        }
        let Ok(Some(account)) = account::for_service(service) else {
            continue;
        };
        if !account::can_reach(&account, root) {
            let dir = project_dir(root).join(&service.name);
            out.insert(service.name.clone(), dir.display().to_string());
        }
    }
    out
}

/// Whether `service` keeps its state outside the project.
pub fn is_outside(root: &Path, service: &ResolvedService) -> bool {
    Path::new(&service.state) != in_project(root, &service.name)
}

/// Makes the folders above `service`'s outside state (root's own, 0711) and the link
/// `.paxx/state/<name>` to it. Says where the data goes the first time.
pub fn prepare(root: &Path, service: &ResolvedService) -> Result<Option<String>> {
    let state = Path::new(&service.state);
    let link = in_project(root, &service.name);
    // Checked on every start: the folders may have been removed, or changed, since.
    if is_ours(state) {
        if let Some(above) = Path::new(BASE).parent() {
            fs::create_dir_all(above)
                .with_context(|| format!("cannot create `{}`", above.display()))?;
        }
        for dir in [Path::new(BASE), state.parent().unwrap_or(Path::new(BASE))] {
            root_only_folder(dir)?;
        }
    }
    if link_target(&link).is_some() {
        return Ok(None);
    }
    match fs::symlink_metadata(&link) {
        Ok(meta) if meta.is_dir() => {
            let empty = fs::read_dir(&link)
                .with_context(|| format!("cannot list `{}`", link.display()))?
                .next()
                .is_none();
            if !empty {
                bail!(
                    "`{}` holds {}'s data, but the account it runs as cannot enter the project \
                     folder any more; move the project under a folder others can enter (e.g. \
                     /srv), or remove that data with `paxx-compose down --clean {}`",
                    link.display(),
                    service.name,
                    service.name
                );
            }
            fs::remove_dir(&link).with_context(|| format!("cannot remove `{}`", link.display()))?;
        }
        Ok(_) => {
            fs::remove_file(&link)
                .with_context(|| format!("cannot remove `{}`", link.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", link.display())),
    }
    let parent = link.parent().expect("a state link has a parent");
    fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    std::os::unix::fs::symlink(state, &link)
        .with_context(|| format!("cannot create the link `{}`", link.display()))?;
    let who = match account::for_service(service) {
        Ok(Some(account)) => format!("the `{}` account it runs as", account.name),
        _ => "the account it runs as".to_string(),
    };
    Ok(Some(format!(
        "{}: {who} cannot enter the project folder `{}` (or one above it), so its data is \
         kept in `{}`; `.paxx/state/{}` links there, and `paxx-compose down --clean` removes it",
        service.name,
        root.display(),
        state.display(),
        service.name
    )))
}

/// Removes `service`'s data: `.paxx/state/<name>` and, when that is a link paxx made,
/// the folder under BASE it points to. A link to anywhere else is removed, its target
/// left alone. Says what was removed; None when there was nothing.
pub fn clean(root: &Path, service: &ResolvedService) -> Result<Option<String>> {
    let link = in_project(root, &service.name);
    let mut removed = Vec::new();
    let mut left = None;
    let outside = link_target(&link).unwrap_or_else(|| PathBuf::from(&service.state));
    if outside != link {
        if is_ours(&outside) {
            if outside.exists() {
                fs::remove_dir_all(&outside)
                    .with_context(|| format!("cannot remove `{}`", outside.display()))?;
                removed.push(outside.display().to_string());
            }
            if let Some(parent) = outside.parent() {
                // The project's folder under BASE goes with its last service's data,
                // and BASE with the last project's (remove_dir leaves a full one alone).
                let _ = fs::remove_dir(parent);
                let _ = fs::remove_dir(BASE);
            }
        } else {
            left = Some(outside.clone());
        }
    }
    match fs::symlink_metadata(&link) {
        Ok(meta) if meta.is_dir() => {
            fs::remove_dir_all(&link)
                .with_context(|| format!("cannot remove `{}`", link.display()))?;
            removed.push(format!(".paxx/state/{}", service.name));
        }
        Ok(_) => {
            fs::remove_file(&link)
                .with_context(|| format!("cannot remove `{}`", link.display()))?;
            removed.push(format!("the link .paxx/state/{}", service.name));
        }
        Err(_) => {}
    }
    if removed.is_empty() {
        return Ok(None);
    }
    let mut note = format!(
        "{}: removed its data ({})",
        service.name,
        removed.join(", ")
    );
    if let Some(left) = left {
        note.push_str(&format!(
            "; left `{}` alone (paxx did not make it)",
            left.display()
        ));
    }
    Ok(Some(note))
}

fn in_project(root: &Path, service: &str) -> PathBuf {
    PathBuf::from(state_dir(&root.to_string_lossy(), service))
}

/// The target of `link` when it is a symbolic link, made absolute.
fn link_target(link: &Path) -> Option<PathBuf> {
    let meta = fs::symlink_metadata(link).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let target = fs::read_link(link).ok()?;
    Some(match link.parent() {
        Some(parent) if target.is_relative() => parent.join(target),
        _ => target,
    })
}

/// A folder paxx made under BASE: below it, with no `..` to climb out.
fn is_ours(path: &Path) -> bool {
    path.starts_with(BASE)
        && path.components().count() > Path::new(BASE).components().count()
        && !path.components().any(|c| c == Component::ParentDir)
}

/// `/var/lib/paxx/<folder name>-<12 hex digits of the path's hash>`: readable, and one
/// per project path.
fn project_dir(root: &Path) -> PathBuf {
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = content_hash(root.as_os_str().as_encoded_bytes());
    let hex = &hash["sha256:".len().."sha256:".len() + 12];
    Path::new(BASE).join(format!("{name}-{hex}"))
}

/// Makes `dir` root's own with mode 0711, or checks that it is: nobody else may read or
/// swap the data below it.
fn root_only_folder(dir: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(0o711).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create `{}`", dir.display())),
    }
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
    if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        bail!(
            "`{}` is not a folder of root's that only root may change (owner uid {}, mode \
             {:o}); remove it, then run `paxx-compose up` again",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        );
    }
    // The umask may have taken the bits the account needs to pass through.
    if meta.mode() & 0o111 != 0o111 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o711))
            .with_context(|| format!("cannot open up `{}`", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_folder_per_project_path_and_only_ours_is_removed() {
        let a = project_dir(Path::new("/root/my shop"));
        let b = project_dir(Path::new("/tmp/x/my shop"));
        assert!(a.starts_with(BASE) && a != b, "{a:?} {b:?}");
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("my_shop-") && name.len() == "my_shop-".len() + 12);
        assert!(is_ours(&a.join("postgres")));
        assert!(!is_ours(Path::new(BASE)));
        assert!(!is_ours(&Path::new(BASE).join("../../etc")));
        assert!(!is_ours(Path::new("/var/lib/paxx-other/x")));
    }
}
