//! Naming a project: `[project].name` in `pyproject.toml` and `paxx.toml`, and every line
//! the template's manifest lists under `[names]` (the README's title, `PROJECT_NAME` …).
//! `new` names the template's files this way and `init` the files `nix flake init -t`
//! copied, so the two give the same bytes; `upgrade` re-generates its base the same way.

use anyhow::{bail, Result};

use super::{push_if_changed, Plan, Project};
use crate::catalog::Template;
use crate::editors::name_lines;
use crate::editors::paxx_toml::{self, PaxxTomlMut};
use crate::editors::pyproject::PyProjectMut;

/// Plans giving `project` (made from `template`) the name `name`, in place of the name it
/// has now. A listed line the user changed is left alone, and said.
pub fn plan_rename(project: &Project, template: &Template, name: &str) -> Result<Plan> {
    check_project_name(name)?;
    let old = project.state.name.as_str();
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    if old != name {
        for (path, patterns) in &template.manifest.names {
            let Some(text) = project.read_text(path)? else {
                notes.push(format!("{path}: not found; the name is not written there"));
                continue;
            };
            let mut renamed = text.clone();
            for pattern in patterns {
                match name_lines::rename(&renamed, pattern, old, name) {
                    Some(next) => renamed = next,
                    None => notes.push(format!(
                        "{path}: no line `{}` (changed?); write the name there yourself",
                        name_lines::fill(pattern, old)
                    )),
                }
            }
            push_if_changed(&mut changes, path, &text, renamed);
        }
    }
    if let Some(text) = project.read_text(PyProjectMut::FILE)? {
        let mut doc = PyProjectMut::parse(&text)?;
        doc.set_name(name)?;
        push_if_changed(&mut changes, PyProjectMut::FILE, &text, doc.render());
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    // paxx.toml last, as every plan has it.
    let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
    doc.set_name(name);
    push_if_changed(
        &mut changes,
        paxx_toml::FILE,
        &project.paxx_toml,
        doc.render(),
    );
    Ok(Plan { changes, notes })
}

/// A valid Python distribution name (PEP 508), which is also safe as it is in every place
/// a template shows the name (Markdown, Python and TOML strings, `.env` values). The
/// Python package stays `app`, so the name never has to be an identifier (`my-shop`).
pub fn check_project_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!(
            "`{name}` is not a valid project name: use letters, digits, `-`, `_` and `.`, \
             starting and ending with a letter or digit (e.g. `shop-api`)"
        );
    }
    Ok(())
}
