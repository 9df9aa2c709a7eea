//! `new`: a project generated in memory (template, name, features), then written in one go,
//! with its own development `.env` (see `dev_env`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::plan::{check_project_name, generate_tree, Answers, Change, Plan};
use crate::printer::{note, ExitStatus};
use crate::project;
use crate::request::New;

pub fn run(cwd: &Path, args: New) -> Result<ExitStatus> {
    let target = cwd.join(&args.dir);
    if target.exists() {
        let empty = target.is_dir()
            && fs::read_dir(&target)
                .with_context(|| format!("cannot read `{}`", target.display()))?
                .next()
                .is_none();
        if !empty {
            bail!(
                "`{}` already exists and is not empty; pick another folder",
                target.display()
            );
        }
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => project::name_from_dir(&target)?,
    };
    check_project_name(&name)?;
    let catalog = project::load_catalog()?;
    let (tree, notes) = generate_tree(
        &catalog,
        &Answers {
            template: &args.template,
            name: &name,
            features: &args.features,
            ports: &BTreeMap::new(),
        },
    )?;
    let plan = Plan {
        changes: tree
            .into_iter()
            .map(|(path, bytes)| Change {
                path,
                before: None,
                after: Some(bytes),
            })
            .collect(),
        notes,
    };
    if args.dry_run {
        super::finish(&target, &plan, true, "")?;
        note!("and `.env` with a random SECRET_KEY for development (not shown)");
        return Ok(ExitStatus::Success);
    }
    // The development key goes in with the rest, so a failure leaves no project at all.
    crate::apply::write_project(&target, &plan.changes, |staging| {
        crate::dev_env::write_if_absent(staging).map(drop)
    })?;
    for note in &plan.notes {
        note!("{note}");
    }
    note!(
        "created `{}` ({} files, and `.env` with a development SECRET_KEY) from template `{}`{}",
        args.dir.display(),
        plan.changes.len(),
        args.template,
        if args.features.is_empty() {
            String::new()
        } else {
            format!(" with {}", args.features.join(", "))
        }
    );
    note!(
        "next: cd {} && nix develop (or: paxx-compose up)",
        args.dir.display()
    );
    note!("{}", super::init::NIX_BUILD_NEEDS_NEW);
    Ok(ExitStatus::Success)
}
