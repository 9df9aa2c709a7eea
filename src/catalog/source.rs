//! Where a catalog's files come from: the binary (embedded at build time), a folder named
//! by `PAXX_CATALOG`, or the catalog history (`history.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::toml_error;

static EMBEDDED_TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static EMBEDDED_MODULES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/modules");

/// Environment variable naming a folder that replaces the embedded catalog (tests and
/// development): it holds `templates/`, `modules/` and `catalog.toml` (`version = "…"`).
pub const CATALOG_ENV: &str = "PAXX_CATALOG";

/// Files by relative path (`/` separators) → bytes.
pub type FileSet = BTreeMap<String, Vec<u8>>;

/// The files of one catalog version, by path under the catalog root: `templates/…` and
/// `modules/…`.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogFiles {
    pub version: String,
    pub files: FileSet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogToml {
    version: String,
}

impl CatalogFiles {
    /// The catalog this binary carries; its version is the crate's.
    pub fn embedded() -> CatalogFiles {
        let mut files = FileSet::new();
        collect_embedded(&EMBEDDED_TEMPLATES, "templates", &mut files);
        collect_embedded(&EMBEDDED_MODULES, "modules", &mut files);
        CatalogFiles {
            version: env!("CARGO_PKG_VERSION").to_string(),
            files,
        }
    }

    /// `PAXX_CATALOG` if set, else the embedded catalog.
    pub fn current() -> Result<CatalogFiles> {
        match std::env::var_os(CATALOG_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => CatalogFiles::from_dir(Path::new(&dir), None)
                .with_context(|| format!("cannot read the {CATALOG_ENV} catalog")),
            None => Ok(CatalogFiles::embedded()),
        }
    }

    /// A catalog folder: `templates/` and `modules/`, with its version given or read from
    /// `catalog.toml`.
    pub fn from_dir(dir: &Path, version: Option<&str>) -> Result<CatalogFiles> {
        let version = match version {
            Some(v) => v.to_string(),
            None => {
                let path = dir.join("catalog.toml");
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "cannot read `{}`; a catalog folder needs one with `version = \"…\"`",
                        path.display()
                    )
                })?;
                let file = path.display().to_string();
                let parsed: CatalogToml = toml::from_str(&text)
                    .map_err(|e| anyhow!(toml_error::from_toml_de(&file, &text, &e)))?;
                parsed.version
            }
        };
        check_version(&version)?;
        let mut files = FileSet::new();
        for top in ["templates", "modules"] {
            let sub = dir.join(top);
            if !sub.is_dir() {
                bail!(
                    "`{}` is not a catalog: it has no `{top}/` folder",
                    dir.display()
                );
            }
            for (path, bytes) in read_folder(&sub)? {
                files.insert(format!("{top}/{path}"), bytes);
            }
        }
        Ok(CatalogFiles { version, files })
    }

    /// The files under `top` (`templates` or `modules`), relative to it.
    pub fn under(&self, top: &str) -> FileSet {
        let prefix = format!("{top}/");
        self.files
            .iter()
            .filter_map(|(p, b)| p.strip_prefix(&prefix).map(|r| (r.to_string(), b.clone())))
            .collect()
    }
}

/// A version is used as a file name in the history: keep it to plain characters.
pub fn check_version(version: &str) -> Result<()> {
    let ok = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && version.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!("`{version}` is not a catalog version (expected something like `0.2.0`)");
    }
    Ok(())
}

/// Orders `0.9.0` before `0.10.0`; `None` when either is not dotted numbers.
pub fn compare_versions(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parse = |v: &str| -> Option<Vec<u64>> {
        v.split(['-', '+'])
            .next()?
            .split('.')
            .map(|p| p.parse().ok())
            .collect()
    };
    let (a, b) = (parse(a)?, parse(b)?);
    Some(a.cmp(&b))
}

fn collect_embedded(dir: &Dir<'_>, prefix: &str, out: &mut FileSet) {
    for file in dir.files() {
        out.insert(
            format!("{prefix}/{}", slash_path(file.path())),
            file.contents().to_vec(),
        );
    }
    for sub in dir.dirs() {
        collect_embedded(sub, prefix, out);
    }
}

pub fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads every regular file under `root`. Symbolic links are refused: a module must not
/// reach outside its folder.
pub fn read_folder(root: &Path) -> Result<FileSet> {
    fn walk(root: &Path, dir: &Path, out: &mut FileSet) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list `{}`", dir.display()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot stat `{}`", path.display()))?;
            if kind.is_symlink() {
                bail!(
                    "`{}` is a symbolic link; catalog files must be regular files",
                    path.display()
                );
            } else if kind.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = slash_path(path.strip_prefix(root).expect("walked below root"));
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                out.insert(rel, bytes);
            }
        }
        Ok(())
    }
    let mut out = FileSet::new();
    walk(root, root, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions_order_numerically() {
        assert_eq!(compare_versions("0.9.0", "0.10.0"), Some(Ordering::Less));
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Some(Ordering::Equal));
        assert_eq!(
            compare_versions("1.0.0-rc1", "0.9"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_versions("main", "0.9"), None);
    }

    #[test]
    fn versions_are_plain_file_names() {
        assert!(check_version("0.10.0").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "1 0"] {
            assert!(check_version(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_embedded_catalog_has_the_crate_version() {
        let files = CatalogFiles::embedded();
        assert_eq!(files.version, env!("CARGO_PKG_VERSION"));
        assert!(files.files.keys().any(|p| p.starts_with("templates/")));
    }
}
