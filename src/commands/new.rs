//! `new`: a project generated in memory (template, name, features), then written in one go,
//! with its own development `.env` (see `dev_env`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cli::NewArgs;
use crate::plan::{check_project_name, generate_tree, Answers, Change, Plan};

pub fn run(cwd: &Path, args: NewArgs) -> Result<ExitCode> {
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
        None => name_from_dir(&target)?,
    };
    check_project_name(&name)?;
    let catalog = super::load_catalog()?;
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
        eprintln!("and `.env` with a random SECRET_KEY for development (not shown)");
        return Ok(ExitCode::SUCCESS);
    }
    write_tree(&target, &plan)?;
    for note in &plan.notes {
        eprintln!("{note}");
    }
    eprintln!(
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
    eprintln!(
        "next: cd {} && nix develop (or: paxx-compose up)",
        args.dir.display()
    );
    eprintln!("{}", super::init::NIX_BUILD_NEEDS_NEW);
    Ok(ExitCode::SUCCESS)
}

/// Writes the whole tree into a fresh folder beside `target`, then renames it into
/// place: a failure leaves no half-made project behind.
fn write_tree(target: &Path, plan: &Plan) -> Result<()> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let leaf = target
        .file_name()
        .context("the new project's folder needs a name")?;
    let staging: PathBuf = parent.join(format!(
        ".{}.paxx-new-{}",
        leaf.to_string_lossy(),
        std::process::id()
    ));
    // `new a/b` with no `a/` yet makes `a/`, as `mkdir -p` would; a failure takes it away.
    let missing: Vec<PathBuf> = parent
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    let result = (|| -> Result<()> {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder `{}`", parent.display()))?;
        fs::create_dir(&staging)
            .with_context(|| format!("cannot create a folder in `{}`", parent.display()))?;
        crate::apply::write_fresh(&staging, &plan.changes)?;
        crate::dev_env::write_if_absent(&staging)?;
        if target.exists() {
            fs::remove_dir(target)
                .with_context(|| format!("cannot replace `{}`", target.display()))?;
        }
        fs::rename(&staging, target)
            .with_context(|| format!("cannot create `{}`", target.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
        for dir in &missing {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// A project name from a folder's name (`shop_api/` → `shop_api`).
pub fn name_from_dir(dir: &Path) -> Result<String> {
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()?.join(dir)
    };
    let leaf = absolute
        .components()
        .rev()
        .find_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_default();
    check_project_name(&leaf)
        .with_context(|| "the folder's name cannot be the project's name; pass --name")?;
    Ok(leaf)
}
