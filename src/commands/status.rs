//! `status`: what this project is, and which generated files the user changed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::cli::StatusArgs;
use crate::hash::content_hash;
use crate::plan::{Project, ProjectFiles};
use crate::render;
use crate::resolve::{enabled_features, resolve, ResolvedService};

#[derive(Serialize)]
struct Status {
    name: String,
    template: String,
    paxx_version: String,
    /// Every enabled feature, sorted (asked for, and required).
    features: Vec<String>,
    /// The features asked for (`paxx.toml` `[project].features`).
    explicit: Vec<String>,
    /// Generated files whose content differs from what paxx wrote.
    modified: Vec<String>,
    /// Generated files the user deleted.
    missing: Vec<String>,
    packages: Vec<String>,
    services: Vec<ResolvedService>,
    env: BTreeMap<String, String>,
}

pub fn run(cwd: &Path, args: StatusArgs) -> Result<ExitCode> {
    let root = super::project_root(cwd)?;
    let catalog = super::load_catalog()?;
    let files = super::disk(&root);
    let project = Project::load(&files)?;
    let status = gather(&catalog, &project, &files, &root)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "project:  {} (template {}, paxx {})",
        status.name, status.template, status.paxx_version
    );
    let features: Vec<String> = status
        .features
        .iter()
        .map(|f| {
            if status.explicit.contains(f) {
                f.clone()
            } else {
                format!("{f} (required)")
            }
        })
        .collect();
    println!(
        "features: {}",
        if features.is_empty() {
            "none".into()
        } else {
            features.join(", ")
        }
    );
    if status.modified.is_empty() && status.missing.is_empty() {
        println!("generated files: as paxx wrote them");
    }
    for path in &status.modified {
        println!("modified: {path}");
    }
    for path in &status.missing {
        println!("deleted:  {path}");
    }
    if !status.services.is_empty() {
        let names: Vec<String> = status
            .services
            .iter()
            .map(|s| {
                s.port
                    .map_or(s.name.clone(), |p| format!("{} :{p}", s.name))
            })
            .collect();
        println!("services: {}", names.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

fn gather(
    catalog: &Catalog,
    project: &Project,
    files: &dyn ProjectFiles,
    root: &Path,
) -> Result<Status> {
    let state = &project.state;
    let template = catalog.template(&state.template)?;
    let (enabled, _) = enabled_features(catalog, &state.template, &state.features)?;
    let expected = render::generated_files(catalog, template, &state.name, &enabled)?;
    let (mut modified, mut missing) = (Vec::new(), Vec::new());
    for path in expected.keys() {
        let baseline = state
            .generated
            .get(path)
            .cloned()
            .or_else(|| template.files.get(path).map(|b| content_hash(b)));
        let Some(baseline) = baseline else { continue };
        match files.read(path)? {
            Some(now) if content_hash(&now) != baseline => modified.push(path.clone()),
            Some(_) => {}
            None => missing.push(path.clone()),
        }
    }
    let root = root
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", root.display()))?;
    let resolved = resolve(
        catalog,
        &state.template,
        &enabled,
        &state.ports,
        &root.to_string_lossy(),
    )?;
    Ok(Status {
        name: state.name.clone(),
        template: state.template.clone(),
        paxx_version: state.paxx_version.clone(),
        features: enabled,
        explicit: state.features.clone(),
        modified,
        missing,
        packages: resolved.packages,
        services: resolved.services,
        env: resolved.env,
    })
}
