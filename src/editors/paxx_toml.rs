//! `paxx.toml`: the project's record of what paxx generated. Read into a plain
//! [`ProjectState`], written back through [`PaxxTomlMut`] so the user's comments and any
//! tables of their own (`[ports]`) survive.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::toml_error;

pub const FILE: &str = "paxx.toml";

/// What `paxx.toml` says, as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectState {
    pub name: String,
    pub template: String,
    pub paxx_version: String,
    /// Features the user asked for; their `requires` are enabled with them.
    pub features: Vec<String>,
    /// Port overrides by service name.
    pub ports: BTreeMap<String, u16>,
    /// Version of each enabled module when its files were last generated.
    pub modules: BTreeMap<String, u32>,
    /// `sha256:…` of each file exactly as paxx last wrote it.
    pub generated: BTreeMap<String, String>,
    /// Entries paxx added to pyproject.toml (and will take out again).
    pub added_dependencies: Vec<String>,
    pub added_dev_dependencies: Vec<String>,
    /// Files the last `upgrade` wrote with conflict markers (`[upgrade].conflicts`).
    pub conflicts: Vec<String>,
}

pub struct PaxxTomlMut {
    doc: DocumentMut,
    source: String,
}

impl PaxxTomlMut {
    pub fn parse(source: &str) -> Result<Self> {
        let doc = source
            .parse::<DocumentMut>()
            .map_err(|e| anyhow!(toml_error::from_toml_edit(FILE, source, &e)))?;
        Ok(PaxxTomlMut {
            doc,
            source: source.to_string(),
        })
    }

    /// Reads the state, naming file, line and column of the first field that is wrong.
    pub fn state(&self) -> Result<ProjectState> {
        // Only the immutable document keeps spans, which locate a wrong field for the user.
        let spanned = toml_edit::ImDocument::parse(self.source.as_str())
            .map_err(|e| anyhow!(toml_error::from_toml_edit(FILE, &self.source, &e)))?;
        let root = spanned.as_table();
        let project = root
            .get("project")
            .and_then(Item::as_table)
            .ok_or_else(|| anyhow!("{FILE}: there is no [project] table"))?;
        let string = |key: &str| -> Result<String> {
            match project.get(key) {
                Some(item) => item
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.wrong(item, &format!("[project].{key} must be a string"))),
                None => Err(anyhow!("{FILE}: [project].{key} is missing")),
            }
        };
        let mut state = ProjectState {
            name: string("name")?,
            template: string("template")?,
            paxx_version: string("paxx-version")?,
            ..ProjectState::default()
        };
        state.features = self.strings(project.get("features"), "[project].features")?;
        state.added_dependencies = self.strings(
            root.get("pyproject").and_then(|t| t.get("dependencies")),
            "[pyproject].dependencies",
        )?;
        state.added_dev_dependencies = self.strings(
            root.get("pyproject")
                .and_then(|t| t.get("dev-dependencies")),
            "[pyproject].dev-dependencies",
        )?;
        state.conflicts = self.strings(
            root.get("upgrade").and_then(|t| t.get("conflicts")),
            "[upgrade].conflicts",
        )?;
        for (key, item) in self.table(root, "ports")? {
            let port = item
                .as_integer()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    self.wrong(
                        item,
                        &format!("[ports].{key} must be a port number (1-65535)"),
                    )
                })?;
            state.ports.insert(key.to_string(), port);
        }
        for (key, item) in self.table(root, "modules")? {
            let version = item
                .as_integer()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    self.wrong(item, &format!("[modules].{key} must be a version number"))
                })?;
            state.modules.insert(key.to_string(), version);
        }
        for (key, item) in self.table(root, "generated")? {
            let hash = item.as_str().ok_or_else(|| {
                self.wrong(item, &format!("[generated].\"{key}\" must be a string"))
            })?;
            state.generated.insert(key.to_string(), hash.to_string());
        }
        Ok(state)
    }

    pub fn set_name(&mut self, name: &str) {
        self.set_project_value("name", Value::from(name));
    }

    pub fn set_paxx_version(&mut self, version: &str) {
        self.set_project_value("paxx-version", Value::from(version));
    }

    pub fn set_features(&mut self, features: &[String]) {
        let mut array = Array::new();
        for f in features {
            array.push(f.as_str());
        }
        self.set_project_value("features", Value::Array(array));
    }

    pub fn set_modules(&mut self, modules: &BTreeMap<String, u32>) {
        self.set_table(
            "modules",
            modules
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(i64::from(*v)))),
        );
    }

    pub fn set_generated(&mut self, generated: &BTreeMap<String, String>) {
        self.set_table(
            "generated",
            generated
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str()))),
        );
    }

    pub fn set_added_dependencies(&mut self, runtime: &[String], dev: &[String]) {
        let list = |items: &[String]| {
            let mut a = Array::new();
            for i in items {
                a.push(i.as_str());
            }
            Value::Array(a)
        };
        let mut entries = Vec::new();
        if !runtime.is_empty() {
            entries.push(("dependencies".to_string(), list(runtime)));
        }
        if !dev.is_empty() {
            entries.push(("dev-dependencies".to_string(), list(dev)));
        }
        self.set_table("pyproject", entries.into_iter());
    }

    /// `[upgrade].conflicts`: the table goes when the list is empty.
    pub fn set_conflicts(&mut self, paths: &[String]) {
        let mut array = Array::new();
        for p in paths {
            array.push(p.as_str());
        }
        let entries = (!paths.is_empty()).then(|| ("conflicts".to_string(), Value::Array(array)));
        self.set_table("upgrade", entries.into_iter());
    }

    pub fn render(&self) -> String {
        self.doc.to_string()
    }

    fn wrong(&self, item: &Item, message: &str) -> anyhow::Error {
        anyhow!(toml_error::located(
            FILE,
            &self.source,
            item.span(),
            message
        ))
    }

    fn table<'a>(&self, root: &'a Table, name: &str) -> Result<Vec<(&'a str, &'a Item)>> {
        match root.get(name) {
            None => Ok(Vec::new()),
            Some(Item::Table(t)) => Ok(t.iter().collect()),
            Some(item) => Err(self.wrong(item, &format!("[{name}] must be a table"))),
        }
    }

    fn strings(&self, item: Option<&Item>, field: &str) -> Result<Vec<String>> {
        let Some(item) = item else {
            return Ok(Vec::new());
        };
        let array = item
            .as_array()
            .ok_or_else(|| self.wrong(item, &format!("{field} must be an array of strings")))?;
        array
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    anyhow!(toml_error::located(
                        FILE,
                        &self.source,
                        v.span(),
                        &format!("{field} must hold only strings"),
                    ))
                })
            })
            .collect()
    }

    fn set_project_value(&mut self, key: &str, value: Value) {
        let project = self.doc["project"]
            .as_table_mut()
            .expect("state() checked [project]");
        match project.get_mut(key).and_then(Item::as_value_mut) {
            Some(old) => {
                let decor = old.decor().clone();
                *old = value;
                *old.decor_mut() = decor;
            }
            None => {
                project.insert(key, Item::Value(value));
            }
        }
    }

    /// Replaces table `name` with `entries`, dropping it entirely when there are none so
    /// that a project back to no features has the bare template's bytes again.
    fn set_table(&mut self, name: &str, entries: impl Iterator<Item = (String, Value)>) {
        let entries: Vec<_> = entries.collect();
        if entries.is_empty() {
            self.doc.remove(name);
            return;
        }
        let table = match self.doc.get_mut(name).and_then(Item::as_table_mut) {
            Some(t) => t,
            None => {
                self.doc.insert(name, Item::Table(Table::new()));
                self.doc[name].as_table_mut().expect("just inserted")
            }
        };
        let keep: std::collections::BTreeSet<String> =
            entries.iter().map(|(k, _)| k.clone()).collect();
        let stale: Vec<String> = table
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| !keep.contains(k))
            .collect();
        for k in stale {
            table.remove(&k);
        }
        for (k, v) in entries {
            match table.get_mut(&k).and_then(Item::as_value_mut) {
                Some(old) if old.to_string().trim() == v.to_string().trim() => {}
                _ => {
                    table.insert(&k, Item::Value(v));
                }
            }
        }
        table.sort_values();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARE: &str = "# Managed by paxx-compose.\n[project]\nname = \"app\"\ntemplate = \"fastapi\"\npaxx-version = \"0.1.0\"\nfeatures = []\n";

    #[test]
    fn reads_a_bare_project() {
        let state = PaxxTomlMut::parse(BARE).unwrap().state().unwrap();
        assert_eq!(state.name, "app");
        assert_eq!(state.template, "fastapi");
        assert!(state.features.is_empty() && state.generated.is_empty());
    }

    #[test]
    fn writing_state_and_taking_it_back_restores_the_bytes() {
        let mut doc = PaxxTomlMut::parse(BARE).unwrap();
        doc.set_features(&["redis".into()]);
        doc.set_modules(&BTreeMap::from([("redis".into(), 1)]));
        doc.set_generated(&BTreeMap::from([(
            "app/features/redis.py".into(),
            "sha256:ab".into(),
        )]));
        doc.set_added_dependencies(&["redis>=5".into()], &[]);
        doc.set_conflicts(&["app/x.py".into()]);
        doc.set_paxx_version("0.2.0");
        let written = doc.render();
        let again = PaxxTomlMut::parse(&written).unwrap().state().unwrap();
        assert_eq!(again.features, vec!["redis"]);
        assert_eq!(again.generated["app/features/redis.py"], "sha256:ab");
        assert_eq!(again.added_dependencies, vec!["redis>=5"]);
        assert_eq!(again.conflicts, vec!["app/x.py"]);
        assert_eq!(again.paxx_version, "0.2.0");

        let mut doc = PaxxTomlMut::parse(&written).unwrap();
        doc.set_features(&[]);
        doc.set_modules(&BTreeMap::new());
        doc.set_generated(&BTreeMap::new());
        doc.set_added_dependencies(&[], &[]);
        doc.set_conflicts(&[]);
        doc.set_paxx_version("0.1.0");
        assert_eq!(doc.render(), BARE);
    }

    #[test]
    fn wrong_types_name_line_and_column() {
        let src = BARE.replace("features = []", "features = \"redis\"");
        let err = PaxxTomlMut::parse(&src)
            .unwrap()
            .state()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("paxx.toml:6:12:"), "{err}");
        let src = format!("{BARE}[ports]\npostgres = 70000\n");
        let err = PaxxTomlMut::parse(&src)
            .unwrap()
            .state()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("paxx.toml:8:12:"), "{err}");
    }
}
