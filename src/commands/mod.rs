//! One file per command; this one holds what they share: showing or applying a plan.
//! Finding the project and its catalog is `crate::project`'s.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::apply;
use crate::cli::{Cli, Command};
use crate::diff;
use crate::plan::Plan;

mod change;
mod completions;
mod doctor;
mod down;
mod env;
mod init;
mod list;
mod man;
mod new;
mod show;
mod snapshot;
mod status;
mod up;
mod upgrade;

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
        Command::Upgrade(args) => upgrade::run(&cwd, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(&cwd, args),
        Command::SnapshotCatalog(args) => snapshot::run(&cwd, args),
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
