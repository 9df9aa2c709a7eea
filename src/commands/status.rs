//! `status`: what this project is, which generated files the user changed, and which
//! services are running.

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
use crate::services::{self, stop::Runtime};

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
    /// Files the last `upgrade` left with conflict markers, until the markers are gone.
    conflicts: Vec<String>,
    packages: Vec<String>,
    services: Vec<ServiceStatus>,
    env: BTreeMap<String, String>,
}

/// A resolved service and, as new keys beside its fields, whether it runs (`pid`,
/// `running`, `healthy`, `detached`).
#[derive(Serialize)]
struct ServiceStatus {
    #[serde(flatten)]
    service: ResolvedService,
    #[serde(flatten)]
    runtime: Runtime,
}

pub fn run(cwd: &Path, args: StatusArgs) -> Result<ExitCode> {
    let root = super::project_root(cwd)?;
    let catalog = super::load_catalog()?;
    let files = super::disk(&root);
    let project = Project::load(&files)?;
    // Drift is measured against what paxx generated, which for a project not yet upgraded
    // is the catalog of its own version.
    // (A history that does not load only costs the comparison: status still answers.)
    let own = if project.state.paxx_version != catalog.version {
        super::catalog_at(&project.state.paxx_version).unwrap_or(None)
    } else {
        None
    };
    let mut status = gather(&catalog, own.as_ref(), &project, &files, &root)?;
    let canonical = root
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", root.display()))?;
    let layout = services::state::Layout::new(&canonical);
    // Probed as `up` runs them (a worker's probe needs the project's settings); reported
    // as resolved, which is what the Nix side computes too.
    let resolved: Vec<ResolvedService> =
        status.services.iter().map(|s| s.service.clone()).collect();
    let as_run = services::as_run(&resolved, &status.env);
    for (service, run) in status.services.iter_mut().zip(&as_run) {
        service.runtime = services::stop::runtime(&layout, &canonical, run)?;
    }
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
    if catalog.version != status.paxx_version {
        println!(
            "upgrade:  this paxx-compose carries paxx {}: run `paxx-compose upgrade`",
            catalog.version
        );
    }
    for path in &status.conflicts {
        println!("conflict: {path} (resolve the <<<<<<< ======= >>>>>>> markers)");
    }
    if status.modified.is_empty() && status.missing.is_empty() {
        println!("generated files: as paxx wrote them");
    }
    for path in &status.modified {
        println!("modified: {path}");
    }
    for path in &status.missing {
        println!("deleted:  {path}");
    }
    print_services(&status.services);
    Ok(ExitCode::SUCCESS)
}

fn print_services(list: &[ServiceStatus]) {
    if list.is_empty() {
        return;
    }
    println!("services:");
    let width = list.iter().map(|s| s.service.name.len()).max().unwrap_or(0);
    for ServiceStatus { service, runtime } in list {
        let port = service.port.map_or(String::new(), |p| format!(":{p}"));
        let (state, details) = runtime.describe();
        println!("  {:<width$}  {port:<6}  {state}", service.name);
        for line in details {
            println!("  {:<width$}          {line}", "");
        }
    }
}

fn gather(
    catalog: &Catalog,
    own: Option<&Catalog>,
    project: &Project,
    files: &dyn ProjectFiles,
    root: &Path,
) -> Result<Status> {
    let state = &project.state;
    let (enabled, _) = enabled_features(catalog, &state.template, &state.features)?;
    let (modified, missing) = drift(own.unwrap_or(catalog), project, files)?;
    let (conflicts, _) = crate::upgrade::open_conflicts(&state.conflicts, files)?;
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
        conflicts,
        packages: resolved.packages,
        services: resolved
            .services
            .into_iter()
            .map(|service| ServiceStatus {
                service,
                runtime: Runtime::default(),
            })
            .collect(),
        env: resolved.env,
    })
}

/// Generated files the user changed, and those they deleted (`doctor` says the same).
pub fn drift(
    catalog: &Catalog,
    project: &Project,
    files: &dyn ProjectFiles,
) -> Result<(Vec<String>, Vec<String>)> {
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
    Ok((modified, missing))
}
