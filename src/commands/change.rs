//! `add` and `remove`.

use std::path::Path;

use anyhow::{bail, Result};

use crate::plan::{plan_features, Project, Request};
use crate::printer::{note, ExitStatus};
use crate::project;
use crate::request::{Action, Change};

pub fn run(cwd: &Path, args: Change) -> Result<ExitStatus> {
    let add = args.action == Action::Add;
    let names = args.names;
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
        note!("{note}");
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
    Ok(ExitStatus::Success)
}
