//! `status`: what this project is, which generated files the user changed, and which
//! services are running.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::plan::{Drift, Project};
use crate::printer::{self, out, ExitStatus};
use crate::project::{self, Standing};
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
    /// Generated files (the template's and the features') whose content differs from
    /// what paxx wrote; empty when this paxx-compose does not know the project's version.
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

pub fn run(cwd: &Path, json: bool) -> Result<ExitStatus> {
    let root = project::root(cwd)?;
    let catalog = project::load_catalog()?;
    let files = project::disk(&root);
    let project = Project::load(&files)?;
    let recorded = project.state.paxx_version.clone();
    let standing = project::standing(&recorded, &catalog.version);
    // Drift is measured against what paxx generated: the catalog of the project's own
    // version. `None` when this paxx-compose does not know that version.
    let drift = project::drift(&catalog, &project)?;
    let mut status =
        gather(&catalog, &project, drift.as_ref(), &root).with_context(|| match standing {
            Standing::Newer => project::newer_project(&recorded, &catalog.version),
            _ => format!("cannot read the state of this paxx {recorded} project"),
        })?;
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
    if json {
        printer::json(&status)?;
        return Ok(ExitStatus::Success);
    }
    print_project(&status);
    print_version(&recorded, &catalog.version, standing, drift.is_some());
    for path in &status.conflicts {
        out!("conflict: {path} (resolve the <<<<<<< ======= >>>>>>> markers)");
    }
    if drift.is_none() {
        out!("generated files: not compared (this paxx-compose has no catalog of paxx {recorded})");
    } else if status.modified.is_empty() && status.missing.is_empty() {
        out!("generated files: as paxx wrote them");
    }
    for path in &status.modified {
        out!("modified: {path}");
    }
    for path in &status.missing {
        out!("deleted:  {path}");
    }
    print_services(&status.services);
    Ok(ExitStatus::Success)
}

fn print_project(status: &Status) {
    out!(
        "project:  {} (template {}, paxx {})",
        status.name,
        status.template,
        status.paxx_version
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
    out!(
        "features: {}",
        if features.is_empty() {
            "none".into()
        } else {
            features.join(", ")
        }
    );
}

/// Only an older project is upgraded; a newer one needs a newer paxx-compose.
fn print_version(recorded: &str, current: &str, standing: Standing, known: bool) {
    match standing {
        Standing::Current => {}
        Standing::Older if known => {
            out!("upgrade:  this paxx-compose carries paxx {current}: run `paxx-compose upgrade`");
        }
        Standing::Older => out!(
            "upgrade:  this paxx-compose carries paxx {current} but no catalog of paxx \
             {recorded}, so it cannot upgrade this project (`paxx-compose upgrade` says what can)"
        ),
        Standing::Newer => out!("version:  {}", project::newer_project(recorded, current)),
    }
}

fn print_services(list: &[ServiceStatus]) {
    if list.is_empty() {
        return;
    }
    out!("services:");
    let width = list.iter().map(|s| s.service.name.len()).max().unwrap_or(0);
    for ServiceStatus { service, runtime } in list {
        let port = service.port.map_or(String::new(), |p| format!(":{p}"));
        let (state, details) = runtime.describe();
        out!("  {:<width$}  {port:<6}  {state}", service.name);
        for line in details {
            out!("  {:<width$}          {line}", "");
        }
    }
}

fn gather(
    catalog: &Catalog,
    project: &Project,
    drift: Option<&Drift>,
    root: &Path,
) -> Result<Status> {
    let state = &project.state;
    let (enabled, _) = enabled_features(catalog, &state.template, &state.features)?;
    let (conflicts, _) = crate::upgrade::open_conflicts(&state.conflicts, project.files)?;
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
    let drift = drift.map_or((Vec::new(), Vec::new()), |d| {
        (d.modified.clone(), d.missing.clone())
    });
    Ok(Status {
        name: state.name.clone(),
        template: state.template.clone(),
        paxx_version: state.paxx_version.clone(),
        features: enabled,
        explicit: state.features.clone(),
        modified: drift.0,
        missing: drift.1,
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
