//! `add` and `remove`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::cli::ChangeArgs;
use crate::plan::{plan_features, Project, Request};
use crate::project;

pub fn run(cwd: &Path, args: ChangeArgs, add: bool) -> Result<ExitCode> {
    let names = args.feature_names();
    if names.is_empty() {
        bail!("name at least one feature, e.g. `paxx-compose add feature redis`");
    }
    let root = project::root(cwd)?;
    let current = project::load_catalog()?;
    let files = project::disk(&root);
    let project = Project::load(&files)?;
    let (open, _) = crate::upgrade::open_conflicts(&project.state.conflicts, &files)?;
    crate::upgrade::refuse_open(&open)?;
    let (catalog, note) = project::catalog_for(current, &project)?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let request = if add {
        Request::Add(names.clone())
    } else {
        Request::Remove(names.clone())
    };
    let plan = plan_features(&catalog, &project, &request, args.force)?;
    let done = format!(
        "{} {}",
        if add { "added" } else { "removed" },
        names.join(", ")
    );
    super::finish(&root, &plan, args.dry_run, &done)?;
    Ok(ExitCode::SUCCESS)
}
