//! One file per command; this one holds what they share: finding the project, and
//! showing or applying a plan.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::apply::{self, DiskProject};
use crate::catalog::Catalog;
use crate::cli::{Cli, Command};
use crate::diff;
use crate::editors::paxx_toml;
use crate::plan::Plan;

mod change;
mod doctor;
mod down;
mod env;
mod init;
mod list;
mod new;
mod show;
mod status;
mod up;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let cwd = match &cli.chdir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    if !cwd.is_dir() {
        anyhow::bail!("`{}` is not a folder", cwd.display());
    }
    match cli.command {
        Command::New(args) => new::run(&cwd, args),
        Command::Init(args) => init::run(&cwd, args),
        Command::Add(args) => change::run(&cwd, args, true),
        Command::Remove(args) => change::run(&cwd, args, false),
        Command::List(args) => list::run(&cwd, args),
        Command::Show(args) => show::run(args),
        Command::Status(args) => status::run(&cwd, args),
        Command::Up(args) => up::run(&cwd, args),
        Command::Down(args) => down::run(&cwd, args),
        Command::Env(args) => env::run(&cwd, args),
        Command::Doctor(args) => doctor::run(&cwd, args),
    }
}

/// The project folder: `start` or the nearest folder above it holding paxx.toml.
pub fn find_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(paxx_toml::FILE).is_file())
        .map(Path::to_path_buf)
}

/// The project folder, or the error every command gives outside one.
pub fn project_root(start: &Path) -> Result<PathBuf> {
    find_project(start).ok_or_else(|| {
        anyhow::anyhow!(
            "this is not a paxx project: no {} in `{}` or above it. Create one with \
             `paxx-compose new <DIR>` (or `nix flake init -t github:paxx-dev/paxx#fastapi` \
             then `paxx-compose init`), or pass -C <DIR>",
            paxx_toml::FILE,
            start.display()
        )
    })
}

pub fn load_catalog() -> Result<Catalog> {
    Catalog::load().context("cannot load the catalog of templates and modules")
}

pub fn disk(root: &Path) -> DiskProject {
    DiskProject {
        root: root.to_path_buf(),
    }
}

/// Prints the plan's notes; with `dry_run` prints its diff, otherwise applies it.
pub fn finish(root: &Path, plan: &Plan, dry_run: bool, done: &str) -> Result<()> {
    for note in &plan.notes {
        eprintln!("{note}");
    }
    if plan.is_empty() {
        eprintln!("nothing to change");
        return Ok(());
    }
    if dry_run {
        for change in &plan.changes {
            print!("{}", diff::unified(change));
        }
        eprintln!(
            "dry run: {} file(s) would change; nothing was written",
            plan.changes.len()
        );
        return Ok(());
    }
    apply::apply(root, &plan.changes)?;
    eprintln!("{done}");
    for change in &plan.changes {
        let verb = match (&change.before, &change.after) {
            (None, Some(_)) => "created",
            (Some(_), None) => "deleted",
            _ => "updated",
        };
        eprintln!("  {verb} {}", change.path);
    }
    Ok(())
}
