//! The catalog: every template and module paxx-compose knows, loaded and checked once.
//!
//! Templates and modules are embedded at build time so that one binary is self-contained
//! and version-coherent; `PAXX_MODULES=<dir>` adds (or, for a module in development,
//! replaces) modules from disk. Past versions of the catalog come from `history`, so that
//! `upgrade` can regenerate what paxx wrote for a project back then.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::manifest::{ModuleManifest, TemplateManifest};
use crate::paths::check_relative;
use crate::toml_error;

pub mod history;
mod module_name;
mod names;
pub mod source;

pub use source::CatalogFiles;
use source::{read_folder, FileSet};

/// Environment variable naming a folder of extra modules.
pub const MODULES_ENV: &str = "PAXX_MODULES";

#[derive(Debug, Clone)]
pub struct Catalog {
    /// The catalog's version, recorded in a project's `paxx.toml` as `paxx-version`.
    pub version: String,
    pub templates: BTreeMap<String, Template>,
    pub modules: BTreeMap<String, Module>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub manifest: TemplateManifest,
    /// Every file of the base project, by project-relative path.
    pub files: BTreeMap<String, Vec<u8>>,
    pub registry_template: String,
}

#[derive(Debug, Clone)]
pub struct Module {
    pub manifest: ModuleManifest,
    /// Files the module brings, by project-relative target path.
    pub files: BTreeMap<String, ModuleFile>,
    /// The section the project README gains while the feature is enabled.
    pub readme: Option<String>,
    /// Where the module came from, for messages (`embedded` or a folder).
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModuleFile {
    pub content: Vec<u8>,
    /// Rendered with minijinja (the source name ended in `.j2`).
    pub render: bool,
}

impl Catalog {
    /// The current catalog (`PAXX_CATALOG` or the embedded one) plus `PAXX_MODULES`.
    pub fn load() -> Result<Catalog> {
        Catalog::parse(&CatalogFiles::current()?, extra_modules_dir().as_deref())
    }

    /// Parses and checks one catalog's files, with the modules of `extra_modules` on top.
    pub fn parse(source: &CatalogFiles, extra_modules: Option<&Path>) -> Result<Catalog> {
        let templates = load_templates(&source.under("templates"))?;
        let mut modules = BTreeMap::new();
        for (name, files) in split_top_folders(&source.under("modules")) {
            modules.insert(name.clone(), parse_module(&name, &files, "embedded")?);
        }
        if let Some(dir) = extra_modules {
            let files = read_folder(dir)
                .with_context(|| format!("cannot read {MODULES_ENV} folder `{}`", dir.display()))?;
            for (name, files) in split_top_folders(&files) {
                let origin = dir.join(&name).display().to_string();
                modules.insert(name.clone(), parse_module(&name, &files, &origin)?);
            }
        }
        let catalog = Catalog {
            version: source.version.clone(),
            templates,
            modules,
        };
        catalog.check()?;
        Ok(catalog)
    }

    pub fn template(&self, name: &str) -> Result<&Template> {
        self.templates.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.templates.keys().map(String::as_str).collect();
            anyhow!(
                "unknown template `{name}`{}; templates: {}",
                suggestion(name, known.iter().copied()),
                known.join(", ")
            )
        })
    }

    pub fn module(&self, name: &str) -> Result<&Module> {
        self.modules.get(name).ok_or_else(|| {
            anyhow!(
                "unknown feature `{name}`{}; run `paxx-compose list` to see them all",
                suggestion(name, self.modules.keys().map(String::as_str))
            )
        })
    }

    /// Cross-references: templates and modules named by a module exist, and no module
    /// file lands on a file its template already has.
    fn check(&self) -> Result<()> {
        for (name, module) in &self.modules {
            let at = || format!("module `{name}` ({})", module.origin);
            let info = &module.manifest.module;
            for t in &info.templates {
                if !self.templates.contains_key(t) {
                    bail!("{}: [module].templates names unknown template `{t}`", at());
                }
            }
            for (field, names) in [("requires", &info.requires), ("conflicts", &info.conflicts)] {
                for other in names {
                    if other == name {
                        bail!("{}: [module].{field} names the module itself", at());
                    }
                    if !self.modules.contains_key(other) {
                        bail!(
                            "{}: [module].{field} names unknown module `{other}`{}",
                            at(),
                            suggestion(other, self.modules.keys().map(String::as_str))
                        );
                    }
                }
            }
            for t in &info.templates {
                let template = &self.templates[t];
                for path in module.files.keys() {
                    if template.files.contains_key(path) {
                        bail!(
                            "{}: file `{path}` would overwrite template `{t}`'s own file; \
                             features add files, they never replace the user's",
                            at()
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// ` (did you mean `x`?)` when a known name is close to `name`.
pub fn suggestion<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// The folder `PAXX_MODULES` names, if set.
pub fn extra_modules_dir() -> Option<PathBuf> {
    std::env::var_os(MODULES_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Groups `a/x`, `a/y`, `b/z` into `a → {x, y}`, `b → {z}`; top-level files are ignored.
fn split_top_folders(files: &FileSet) -> BTreeMap<String, FileSet> {
    let mut out: BTreeMap<String, FileSet> = BTreeMap::new();
    for (path, bytes) in files {
        if let Some((top, rest)) = path.split_once('/') {
            out.entry(top.to_string())
                .or_default()
                .insert(rest.to_string(), bytes.clone());
        }
    }
    out
}

fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).with_context(|| format!("{file}: not UTF-8 text"))
}

fn load_templates(files: &FileSet) -> Result<BTreeMap<String, Template>> {
    let mut templates = BTreeMap::new();
    for (path, bytes) in files {
        let Some(name) = path.strip_suffix(".toml").filter(|n| !n.contains('/')) else {
            continue;
        };
        let file = format!("templates/{path}");
        let source = utf8(&file, bytes)?;
        let manifest: TemplateManifest = toml::from_str(source)
            .map_err(|e| anyhow!(toml_error::from_toml_de(&file, source, &e)))?;
        let info = &manifest.template;
        if info.name != name {
            bail!(
                "{file}: [template].name is `{}` but the file is named `{name}`",
                info.name
            );
        }
        let prefix = format!("{name}/");
        let tree: FileSet = files
            .iter()
            .filter_map(|(p, b)| {
                p.strip_prefix(&prefix)
                    .map(|rel| (rel.to_string(), b.clone()))
            })
            .collect();
        if tree.is_empty() {
            bail!("{file}: there is no folder `templates/{name}/` beside it");
        }
        for (field, value) in [
            ("registry", Some(&info.registry)),
            ("readme", info.readme.as_ref()),
        ] {
            let Some(value) = value else { continue };
            check_relative(value).with_context(|| format!("{file}: [template].{field}"))?;
            if !tree.contains_key(value) {
                bail!("{file}: [template].{field} `{value}` is not a file of templates/{name}/");
            }
        }
        check_relative(&info.registry_template)
            .with_context(|| format!("{file}: [template].registry-template"))?;
        let registry_template = files.get(&info.registry_template).with_context(|| {
            format!(
                "{file}: [template].registry-template `{}` is not in templates/",
                info.registry_template
            )
        })?;
        let registry_template = utf8(&info.registry_template, registry_template)?.to_string();
        names::check(&file, &manifest, &tree)?;
        templates.insert(
            name.to_string(),
            Template {
                manifest,
                files: tree,
                registry_template,
            },
        );
    }
    Ok(templates)
}

fn parse_module(name: &str, files: &FileSet, origin: &str) -> Result<Module> {
    let file = format!("modules/{name}/module.toml");
    module_name::check(&file, name)?;
    let source = files
        .get("module.toml")
        .with_context(|| format!("module `{name}` ({origin}) has no module.toml"))?;
    let source = utf8(&file, source)?;
    let manifest: ModuleManifest = toml::from_str(source)
        .map_err(|e| anyhow!(toml_error::from_toml_de(&file, source, &e)))
        .with_context(|| format!("module `{name}` ({origin}): malformed manifest"))?;
    if manifest.module.name != name {
        bail!(
            "{file}: [module].name is `{}` but the folder is named `{name}`",
            manifest.module.name
        );
    }
    if manifest.module.templates.is_empty() {
        bail!("{file}: [module].templates is empty; name the templates this module fits");
    }
    let targets = module_targets(&file, files, &manifest)?;
    let readme = match files.get("readme.md") {
        Some(bytes) => Some(utf8(&format!("modules/{name}/readme.md"), bytes)?.to_string()),
        None => None,
    };
    check_migrations(&file, &manifest)?;
    check_services(&file, &manifest)?;
    Ok(Module {
        manifest,
        files: targets,
        readme,
        origin: origin.to_string(),
    })
}

/// Where each of the module's files lands in a project: `files/<path>` (`.j2` stripped:
/// rendered) and the `[files]` table's own targets, no two on one path.
fn module_targets(
    file: &str,
    files: &FileSet,
    manifest: &ModuleManifest,
) -> Result<BTreeMap<String, ModuleFile>> {
    let mut targets = BTreeMap::new();
    for (path, content) in files {
        let Some(source_path) = path.strip_prefix("files/") else {
            continue;
        };
        let (target, render) = match source_path.strip_suffix(".j2") {
            Some(t) => (t, true),
            None => (source_path, false),
        };
        check_relative(target).with_context(|| format!("{file}: file `files/{source_path}`"))?;
        if render {
            utf8(path, content)?;
        }
        let previous = targets.insert(
            target.to_string(),
            ModuleFile {
                content: content.clone(),
                render,
            },
        );
        if previous.is_some() {
            bail!("{file}: two files land on `{target}` (`{target}` and `{target}.j2`)");
        }
    }
    for (target, source) in &manifest.files {
        check_relative(target).with_context(|| format!("{file}: [files] target"))?;
        check_relative(source).with_context(|| format!("{file}: [files].\"{target}\" source"))?;
        let content = files.get(source).with_context(|| {
            format!(
                "{file}: [files].\"{target}\" names `{source}`, which is not in the module folder"
            )
        })?;
        let render = source.ends_with(".j2");
        if render {
            utf8(source, content)?;
        }
        if targets
            .insert(
                target.clone(),
                ModuleFile {
                    content: content.clone(),
                    render,
                },
            )
            .is_some()
        {
            bail!("{file}: [files].\"{target}\" lands on a file that files/ already provides");
        }
    }
    Ok(targets)
}

fn check_services(file: &str, manifest: &ModuleManifest) -> Result<()> {
    let mut service_names = std::collections::BTreeSet::new();
    for service in &manifest.services {
        if !service_names.insert(&service.name) {
            bail!("{file}: two [[services]] are named `{}`", service.name);
        }
        if service.command.is_empty() {
            bail!(
                "{file}: [[services]] `{}` has an empty command",
                service.name
            );
        }
    }
    Ok(())
}

fn check_migrations(file: &str, manifest: &ModuleManifest) -> Result<()> {
    let version = manifest.module.version;
    for m in &manifest.migrations {
        if m.version == 0 || m.version > version {
            bail!(
                "{file}: [[migrations]] version {} must be between 1 and [module].version ({version})",
                m.version
            );
        }
        for (from, to) in &m.rename {
            check_relative(from).with_context(|| format!("{file}: [[migrations]] rename"))?;
            check_relative(to).with_context(|| format!("{file}: [[migrations]] rename"))?;
        }
        for (from, to) in &m.env_rename {
            for key in [from, to] {
                let ok = !key.is_empty()
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !key.starts_with(|c: char| c.is_ascii_digit());
                if !ok {
                    bail!("{file}: [[migrations]] env-rename: `{key}` is not a setting name");
                }
            }
        }
    }
    Ok(())
}
