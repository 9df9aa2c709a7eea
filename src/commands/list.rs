//! `list`: the modules for this project's template (all of them outside a project).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::plan::Project;
use crate::printer::{self, note, out, ExitStatus};
use crate::project;
use crate::resolve::enabled_features;

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    version: u32,
    summary: &'a str,
    templates: &'a [String],
    requires: &'a [String],
    conflicts: &'a [String],
    /// Enabled in this project (asked for, or required by a feature that was).
    enabled: bool,
    /// Asked for by the user (false when only required by another feature).
    explicit: bool,
}

pub fn run(cwd: &Path, json: bool) -> Result<ExitStatus> {
    let catalog = project::load_catalog()?;
    let root = project::find(cwd);
    let files = root.as_deref().map(project::disk);
    let project = match &files {
        Some(files) => Some(Project::load(files)?),
        None => None,
    };
    let (template, explicit, enabled) = match &project {
        Some(p) => {
            let (enabled, _) = enabled_features(&catalog, &p.state.template, &p.state.features)?;
            (
                Some(p.state.template.as_str()),
                p.state.features.clone(),
                enabled,
            )
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let entries: Vec<Entry> = catalog
        .modules
        .values()
        .filter(|m| template.is_none_or(|t| m.manifest.module.templates.iter().any(|x| x == t)))
        .map(|m| {
            let info = &m.manifest.module;
            Entry {
                name: &info.name,
                version: info.version,
                summary: &info.summary,
                templates: &info.templates,
                requires: &info.requires,
                conflicts: &info.conflicts,
                enabled: enabled.contains(&info.name),
                explicit: explicit.contains(&info.name),
            }
        })
        .collect();
    if json {
        printer::json(&entries)?;
        return Ok(ExitStatus::Success);
    }
    if entries.is_empty() {
        note!(
            "no modules{}",
            template
                .map(|t| format!(" fit template `{t}`"))
                .unwrap_or_default()
        );
    }
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for e in &entries {
        let mark = match (e.enabled, e.explicit) {
            (true, true) => "*",
            (true, false) => "+",
            _ => " ",
        };
        out!("{mark} {:width$}  {}", e.name, e.summary);
    }
    if project.is_some() && !entries.is_empty() {
        note!("(* enabled, + enabled because another feature requires it)");
    }
    Ok(ExitStatus::Success)
}
