//! `pyproject.toml`: the dependencies paxx adds and takes out again.

use anyhow::{anyhow, bail, Result};
use toml_edit::{Array, DocumentMut, Item, Value};

use crate::toml_error;

/// Which dependency list an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepGroup {
    /// `[project].dependencies`
    Runtime,
    /// `[dependency-groups].dev`
    Dev,
}

impl DepGroup {
    pub fn describe(self) -> &'static str {
        match self {
            DepGroup::Runtime => "[project].dependencies",
            DepGroup::Dev => "[dependency-groups].dev",
        }
    }
}

pub struct PyProjectMut {
    doc: DocumentMut,
}

impl PyProjectMut {
    pub const FILE: &'static str = "pyproject.toml";

    pub fn parse(source: &str) -> Result<Self> {
        let doc = source
            .parse::<DocumentMut>()
            .map_err(|e| anyhow!(toml_error::from_toml_edit(Self::FILE, source, &e)))?;
        Ok(PyProjectMut { doc })
    }

    pub fn set_name(&mut self, name: &str) -> Result<()> {
        let project = self
            .doc
            .get_mut("project")
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| anyhow!("{}: there is no [project] table to name", Self::FILE))?;
        match project.get_mut("name") {
            Some(Item::Value(Value::String(s))) => {
                let decor = s.decor().clone();
                let mut fresh = toml_edit::Formatted::new(name.to_string());
                *fresh.decor_mut() = decor;
                *s = fresh;
            }
            _ => {
                project.insert("name", toml_edit::value(name));
            }
        }
        Ok(())
    }

    /// Normalised names (PEP 503) of the entries in `group`.
    pub fn has_package(&self, group: DepGroup, spec: &str) -> bool {
        let wanted = package_name(spec);
        self.array(group).is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|s| package_name(s) == wanted)
        })
    }

    /// Appends `spec`, laid out like the entries already there.
    pub fn add_dependency(&mut self, group: DepGroup, spec: &str) -> Result<()> {
        let array = self.array_mut(group)?;
        let mut value = Value::from(spec);
        if let Some(last) = array.iter().last() {
            // Copy the indentation, not a comment that may sit before the last entry.
            let prefix = last
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or(" ");
            let indent = prefix.rfind('\n').map_or(prefix, |i| &prefix[i..]);
            value.decor_mut().set_prefix(indent.to_string());
            value.decor_mut().set_suffix("");
        } else if array.trailing().as_str().is_some_and(|t| t.contains('\n')) {
            value.decor_mut().set_prefix("\n    ");
            array.set_trailing_comma(true);
        }
        array.push_formatted(value);
        Ok(())
    }

    /// Inserts `spec` right after the entry for `after`'s package (appends when that entry
    /// is missing or last), laid out like its neighbours: a template that adds a dependency
    /// in sorted order gets it in sorted order in the user's list too.
    pub fn insert_dependency_after(
        &mut self,
        group: DepGroup,
        spec: &str,
        after: Option<&str>,
    ) -> Result<()> {
        let wanted = after.map(package_name);
        let index = self.array(group).and_then(|a| {
            a.iter()
                .position(|v| v.as_str().map(package_name) == wanted)
        });
        let len = self.array(group).map_or(0, Array::len);
        let Some(i) = index.filter(|i| i + 1 < len) else {
            return self.add_dependency(group, spec);
        };
        let array = self.array_mut(group)?;
        // The next entry's prefix holds the comment that ends the line before: the new
        // entry takes it over (so the comment stays on its line) and the next one gets
        // the bare indentation.
        let next = array.get_mut(i + 1).expect("checked above");
        let prefix = next
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or(" ")
            .to_string();
        let indent = prefix
            .rfind('\n')
            .map_or(prefix.as_str(), |at| &prefix[at..])
            .to_string();
        next.decor_mut().set_prefix(indent);
        let mut value = Value::from(spec);
        value.decor_mut().set_prefix(prefix);
        value.decor_mut().set_suffix("");
        array.insert_formatted(i + 1, value);
        Ok(())
    }

    /// Removes the entry exactly equal to `spec`; false when it is not there.
    #[allow(
        clippy::unnecessary_wraps,
        reason = "the editor's verbs share one signature"
    )]
    pub fn remove_dependency(&mut self, group: DepGroup, spec: &str) -> Result<bool> {
        let Ok(array) = self.array_mut(group) else {
            return Ok(false);
        };
        let Some(index) = array.iter().position(|v| v.as_str() == Some(spec)) else {
            return Ok(false);
        };
        let was_last = index + 1 == array.len();
        let removed = array.remove(index);
        // The first entry's layout lives in its prefix: hand it on to the next one.
        if index == 0 && !was_last {
            let prefix = removed.decor().prefix().cloned().unwrap_or_default();
            if let Some(next) = array.get_mut(0) {
                next.decor_mut().set_prefix(prefix);
            }
        }
        Ok(true)
    }

    /// Replaces the entry exactly equal to `old` by `new` where it stands, keeping its
    /// layout and comment; false when `old` is not there.
    #[allow(
        clippy::unnecessary_wraps,
        reason = "the editor's verbs share one signature"
    )]
    pub fn replace_dependency(&mut self, group: DepGroup, old: &str, new: &str) -> Result<bool> {
        let Ok(array) = self.array_mut(group) else {
            return Ok(false);
        };
        let Some(value) = array.iter_mut().find(|v| v.as_str() == Some(old)) else {
            return Ok(false);
        };
        let decor = value.decor().clone();
        *value = Value::from(new);
        *value.decor_mut() = decor;
        Ok(true)
    }

    /// The entries of `group`, in order (none when the list is missing).
    pub fn entries(&self, group: DepGroup) -> Vec<String> {
        self.array(group)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn render(&self) -> String {
        self.doc.to_string()
    }

    fn array(&self, group: DepGroup) -> Option<&Array> {
        match group {
            DepGroup::Runtime => self.doc.get("project")?.get("dependencies")?.as_array(),
            DepGroup::Dev => self.doc.get("dependency-groups")?.get("dev")?.as_array(),
        }
    }

    fn array_mut(&mut self, group: DepGroup) -> Result<&mut Array> {
        let (table, key) = match group {
            DepGroup::Runtime => ("project", "dependencies"),
            DepGroup::Dev => ("dependency-groups", "dev"),
        };
        let Some(parent) = self.doc.get_mut(table).and_then(Item::as_table_like_mut) else {
            bail!(
                "{}: there is no [{table}] table; add `[{table}]` with `{key} = []`",
                Self::FILE
            );
        };
        if parent.get(key).is_none() {
            parent.insert(key, toml_edit::value(Array::new()));
        }
        parent
            .get_mut(key)
            .and_then(Item::as_array_mut)
            .ok_or_else(|| anyhow!("{}: {} is not an array", Self::FILE, group.describe()))
    }
}

/// The PEP 503 normalised distribution name of a requirement (`SQLAlchemy[asyncio]>=2` → `sqlalchemy`).
pub fn package_name(spec: &str) -> String {
    let name: String = spec
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let mut out = String::new();
    for c in name.to_ascii_lowercase().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"[project]
name = "app"  # the distribution name
dependencies = [
    "fastapi>=0.115",  # web framework
    "sqlalchemy[asyncio]>=2.0",
]

[dependency-groups]
dev = ["pytest>=8"]
"#;

    #[test]
    fn add_then_remove_restores_the_bytes() {
        for group in [DepGroup::Runtime, DepGroup::Dev] {
            let mut doc = PyProjectMut::parse(SAMPLE).unwrap();
            doc.add_dependency(group, "redis>=5.0").unwrap();
            doc.add_dependency(group, "arq>=0.26").unwrap();
            assert!(doc.render().contains("\"redis>=5.0\""));
            assert!(doc.remove_dependency(group, "redis>=5.0").unwrap());
            assert!(doc.remove_dependency(group, "arq>=0.26").unwrap());
            assert_eq!(doc.render(), SAMPLE);
        }
    }

    #[test]
    fn added_entries_follow_the_existing_layout() {
        let mut doc = PyProjectMut::parse(SAMPLE).unwrap();
        doc.add_dependency(DepGroup::Runtime, "redis>=5.0").unwrap();
        assert!(
            doc.render()
                .contains("    \"sqlalchemy[asyncio]>=2.0\",\n    \"redis>=5.0\",\n]"),
            "{}",
            doc.render()
        );
    }

    #[test]
    fn removing_the_first_entry_keeps_the_layout() {
        let mut doc = PyProjectMut::parse(SAMPLE).unwrap();
        doc.remove_dependency(DepGroup::Runtime, "fastapi>=0.115")
            .unwrap();
        assert!(
            doc.render().contains("dependencies = [\n    \"sqlalchemy"),
            "{}",
            doc.render()
        );
    }

    #[test]
    fn replacing_keeps_place_and_comment() {
        let mut doc = PyProjectMut::parse(SAMPLE).unwrap();
        assert!(doc
            .replace_dependency(DepGroup::Runtime, "fastapi>=0.115", "fastapi>=0.116")
            .unwrap());
        assert!(doc
            .render()
            .contains("    \"fastapi>=0.116\",  # web framework\n    \"sqlalchemy"));
        assert!(!doc
            .replace_dependency(DepGroup::Dev, "absent", "x")
            .unwrap());
        assert_eq!(doc.entries(DepGroup::Dev), vec!["pytest>=8"]);
    }

    #[test]
    fn inserting_after_a_package_keeps_the_layout() {
        let mut doc = PyProjectMut::parse(SAMPLE).unwrap();
        doc.insert_dependency_after(DepGroup::Runtime, "httpx>=0.28", Some("fastapi>=0.1"))
            .unwrap();
        assert!(
            doc.render()
                .contains("  # web framework\n    \"httpx>=0.28\",\n    \"sqlalchemy"),
            "{}",
            doc.render()
        );
        doc.insert_dependency_after(DepGroup::Dev, "ruff", Some("pytest"))
            .unwrap();
        assert_eq!(doc.entries(DepGroup::Dev), vec!["pytest>=8", "ruff"]);
    }

    #[test]
    fn knows_packages_by_normalised_name() {
        let doc = PyProjectMut::parse(SAMPLE).unwrap();
        assert!(doc.has_package(DepGroup::Runtime, "SQLAlchemy>=2.1"));
        assert!(!doc.has_package(DepGroup::Runtime, "redis"));
        assert_eq!(package_name("Foo.Bar_baz[x]>=1"), "foo-bar-baz");
    }

    #[test]
    fn renaming_keeps_comments() {
        let mut doc = PyProjectMut::parse(SAMPLE).unwrap();
        doc.set_name("shop").unwrap();
        assert!(doc
            .render()
            .contains("name = \"shop\"  # the distribution name"));
    }

    #[test]
    fn broken_toml_names_line_and_column() {
        let err = PyProjectMut::parse("[project\nname = 1\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("pyproject.toml:1:"), "{err}");
    }
}
