//! One file per command; this one holds what they share: showing or applying a plan.
//! Finding the project and its catalog is `crate::project`'s.

use std::path::Path;

use anyhow::{Context, Result};

use crate::apply;
use crate::diff;
use crate::plan::Plan;
use crate::printer::{self, note, ExitStatus};
use crate::request::{Command, Invocation};

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

pub fn run(invocation: Invocation) -> Result<ExitStatus> {
    let cwd = match &invocation.chdir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    if !cwd.is_dir() {
        anyhow::bail!("`{}` is not a folder", cwd.display());
    }
    match invocation.command {
        Command::New(request) => new::run(&cwd, request),
        Command::Init(request) => init::run(&cwd, request),
        Command::Change(request) => change::run(&cwd, request),
        Command::List { json } => list::run(&cwd, json),
        Command::Show { name } => show::run(&name),
        Command::Status { json } => status::run(&cwd, json),
        Command::Up(request) => up::run(&cwd, request),
        Command::Down(request) => down::run(&cwd, request),
        Command::Env { json } => env::run(&cwd, json),
        Command::Doctor { json } => doctor::run(&cwd, json),
        Command::Upgrade(request) => upgrade::run(&cwd, request),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { dir } => man::run(&cwd, dir),
        Command::SnapshotCatalog(request) => snapshot::run(&cwd, request),
    }
}

/// Prints the plan's notes; with `dry_run` prints its diff, otherwise applies it.
pub fn finish(root: &Path, plan: &Plan, dry_run: bool, done: &str) -> Result<()> {
    for note in &plan.notes {
        note!("{note}");
    }
    if plan.is_empty() {
        note!("nothing to change");
        return Ok(());
    }
    if dry_run {
        for change in &plan.changes {
            printer::text(&diff::unified(change));
        }
        note!(
            "dry run: {} file(s) would change; nothing was written",
            plan.changes.len()
        );
        return Ok(());
    }
    apply::apply(root, &plan.changes)?;
    note!("{done}");
    for change in &plan.changes {
        let verb = match (&change.before, &change.after) {
            (None, Some(_)) => "created",
            (Some(_), None) => "deleted",
            _ => "updated",
        };
        note!("  {verb} {}", change.path);
    }
    Ok(())
}
