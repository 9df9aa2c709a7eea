//! Past catalogs, for `upgrade`'s base: what paxx generated for a project at its version.
//!
//! The store (`catalog-history/` in the repo, embedded at build time) keeps one index per
//! released version, `<version>.toml` (path under the catalog root → sha256), and the
//! bytes content-addressed in `blobs/<2 hex>/<sha256>`, so that versions share every file
//! they did not change. `PAXX_CATALOG_HISTORY=<dir>` adds versions from disk, either in
//! the same layout or as plain folders `<dir>/<version>/{templates,modules}` (easier to
//! keep as test fixtures).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use include_dir::{include_dir, Dir};
use serde::{Deserialize, Serialize};

use super::source::{check_version, CatalogFiles};
use crate::hash::content_hash;
use crate::toml_error;

static EMBEDDED_HISTORY: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/catalog-history");

/// Environment variable naming a folder of extra catalog versions.
pub const HISTORY_ENV: &str = "PAXX_CATALOG_HISTORY";

/// `<version>.toml`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Index {
    version: String,
    /// Path under the catalog root → sha256 (hex) of its bytes.
    files: BTreeMap<String, String>,
}

/// One place versions can come from.
enum Store {
    Embedded,
    Disk(PathBuf),
}

impl Store {
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Store::Embedded => Ok(EMBEDDED_HISTORY
                .get_file(rel)
                .map(|f| f.contents().to_vec())),
            Store::Disk(dir) => {
                let path = dir.join(rel);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
                }
            }
        }
    }

    fn describe(&self, rel: &str) -> String {
        match self {
            Store::Embedded => format!("catalog-history/{rel} (embedded)"),
            Store::Disk(dir) => dir.join(rel).display().to_string(),
        }
    }

    /// The catalog at `version`, if this store has it.
    fn load(&self, version: &str) -> Result<Option<CatalogFiles>> {
        if let Store::Disk(dir) = self {
            let folder = dir.join(version);
            if folder.is_dir() {
                return CatalogFiles::from_dir(&folder, Some(version)).map(Some);
            }
        }
        let index_path = format!("{version}.toml");
        let Some(bytes) = self.read(&index_path)? else {
            return Ok(None);
        };
        let file = self.describe(&index_path);
        let text = String::from_utf8(bytes).map_err(|_| anyhow!("{file}: not UTF-8 text"))?;
        let index: Index = toml::from_str(&text)
            .map_err(|e| anyhow!(toml_error::from_toml_de(&file, &text, &e)))?;
        if index.version != version {
            bail!("{file}: says version `{}`", index.version);
        }
        let mut files = BTreeMap::new();
        for (path, hex) in index.files {
            let rel = blob_path(&hex)?;
            let bytes = self.read(&rel)?.with_context(|| {
                format!("{file}: `{path}`: blob {} is missing", self.describe(&rel))
            })?;
            // A blob is trusted only if it is what the index says: a damaged history would
            // otherwise give a wrong base and a merge that silently loses edits.
            if content_hash(&bytes) != format!("sha256:{hex}") {
                bail!("{}: content does not match its name", self.describe(&rel));
            }
            files.insert(path, bytes);
        }
        Ok(Some(CatalogFiles {
            version: version.to_string(),
            files,
        }))
    }

    fn versions(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Store::Embedded => {
                for f in EMBEDDED_HISTORY.files() {
                    if let Some(v) = f.path().to_str().and_then(|p| p.strip_suffix(".toml")) {
                        out.push(v.to_string());
                    }
                }
            }
            Store::Disk(dir) => {
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if let Some(v) = name.strip_suffix(".toml") {
                        out.push(v.to_string());
                    } else if entry.path().join("templates").is_dir() {
                        out.push(name);
                    }
                }
            }
        }
        out
    }
}

fn blob_path(hex: &str) -> Result<String> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{hex}` is not a sha256 in hex");
    }
    Ok(format!("blobs/{}/{hex}", &hex[..2]))
}

fn stores() -> Vec<Store> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os(HISTORY_ENV).filter(|v| !v.is_empty()) {
        out.push(Store::Disk(PathBuf::from(dir)));
    }
    out.push(Store::Embedded);
    out
}

/// The catalog at `version` from `PAXX_CATALOG_HISTORY`, then the embedded history.
pub fn find(version: &str) -> Result<Option<CatalogFiles>> {
    check_version(version)?;
    for store in stores() {
        if let Some(files) = store.load(version)? {
            return Ok(Some(files));
        }
    }
    Ok(None)
}

/// Every version the history knows, oldest first where they compare.
pub fn versions() -> Vec<String> {
    let mut out: Vec<String> = stores().iter().flat_map(Store::versions).collect();
    out.sort_by(|a, b| super::source::compare_versions(a, b).unwrap_or_else(|| a.cmp(b)));
    out.dedup();
    out
}

/// What `snapshot` wrote.
pub struct Snapshot {
    pub files: usize,
    pub new_blobs: usize,
    pub new_bytes: usize,
    /// The index already existed with the same content.
    pub unchanged: bool,
}

/// Writes `catalog` into the history folder `out`: its blobs that are not there yet, then
/// its index (last, so an interrupted snapshot leaves no index pointing at missing blobs).
/// An existing index for the same version with other content is refused: a released
/// catalog must never change, or projects made from it would merge against a wrong base.
pub fn snapshot(catalog: &CatalogFiles, out: &Path) -> Result<Snapshot> {
    check_version(&catalog.version)?;
    let index = Index {
        version: catalog.version.clone(),
        files: catalog
            .files
            .iter()
            .map(|(p, b)| (p.clone(), content_hash(b)["sha256:".len()..].to_string()))
            .collect(),
    };
    let text = format!(
        "# paxx catalog {}: each file under templates/ and modules/ → the sha256 of its bytes,\n\
         # stored in blobs/<first 2 hex>/<sha256>. Written by `paxx-compose snapshot-catalog`.\n{}",
        catalog.version,
        toml::to_string(&index).context("cannot write the catalog index")?
    );
    let index_path = out.join(format!("{}.toml", catalog.version));
    let unchanged = match std::fs::read_to_string(&index_path) {
        Ok(existing) if existing == text => true,
        Ok(_) => bail!(
            "`{}` already exists with other content: catalog {} was released as it is \
             recorded there. Snapshot a new version instead",
            index_path.display(),
            catalog.version
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", index_path.display())),
    };
    let (mut new_blobs, mut new_bytes) = (0, 0);
    for (path, hex) in &index.files {
        let target = out.join(blob_path(hex)?);
        if target.exists() {
            continue;
        }
        let dir = target.parent().expect("blob paths have a folder");
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let bytes = &catalog.files[path];
        std::fs::write(&target, bytes)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        new_blobs += 1;
        new_bytes += bytes.len();
    }
    if !unchanged {
        std::fs::write(&index_path, text)
            .with_context(|| format!("cannot write `{}`", index_path.display()))?;
    }
    Ok(Snapshot {
        files: index.files.len(),
        new_blobs,
        new_bytes,
        unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn sample(version: &str, readme: &str) -> CatalogFiles {
        CatalogFiles {
            version: version.into(),
            files: [
                (
                    "templates/t/README.md".to_string(),
                    readme.as_bytes().to_vec(),
                ),
                ("modules/m/module.toml".to_string(), b"same".to_vec()),
            ]
            .into(),
        }
    }

    #[test]
    fn snapshots_share_blobs_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let one = snapshot(&sample("1.0.0", "a"), dir.path()).unwrap();
        assert_eq!((one.files, one.new_blobs), (2, 2));
        let two = snapshot(&sample("1.1.0", "b"), dir.path()).unwrap();
        assert_eq!(two.new_blobs, 1, "the unchanged file is shared");
        let again = snapshot(&sample("1.1.0", "b"), dir.path()).unwrap();
        assert!(again.unchanged && again.new_blobs == 0);
        let store = Store::Disk(dir.path().to_path_buf());
        assert_eq!(store.load("1.0.0").unwrap(), Some(sample("1.0.0", "a")));
        assert_eq!(store.load("2.0.0").unwrap(), None);
    }

    #[test]
    fn a_released_version_cannot_change() {
        let dir = tempfile::tempdir().unwrap();
        snapshot(&sample("1.0.0", "a"), dir.path()).unwrap();
        let err = snapshot(&sample("1.0.0", "changed"), dir.path())
            .err()
            .unwrap();
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[test]
    fn a_damaged_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        snapshot(&sample("1.0.0", "a"), dir.path()).unwrap();
        let hex = &content_hash(b"a")["sha256:".len()..];
        std::fs::write(dir.path().join(blob_path(hex).unwrap()), "tampered").unwrap();
        let err = Store::Disk(dir.path().into()).load("1.0.0").err().unwrap();
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    /// Every release in the embedded history must still load with today's parser: a
    /// manifest change that breaks an old catalog would make its projects un-upgradable.
    #[test]
    fn every_embedded_version_loads() {
        for version in Store::Embedded.versions() {
            let files = Store::Embedded.load(&version).unwrap().unwrap();
            Catalog::parse(&files, None).unwrap_or_else(|e| panic!("catalog {version}: {e:#}"));
        }
    }
}
