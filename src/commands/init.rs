//! `init`: name a folder that `nix flake init -t` copied from a template, and give it a
//! development `.env` of its own (see `dev_env`).

use std::path::Path;

use anyhow::{bail, Result};

use crate::editors::paxx_toml;
use crate::plan::{plan_rename, Project};
use crate::printer::{note, ExitStatus};
use crate::project;

/// `nix build` reads uv.lock through the project's flake, which in git sees only tracked
/// files (`paxx-compose doctor` checks both).
pub const NIX_BUILD_NEEDS: &str =
    "before `nix build`: uv lock && git add uv.lock (a flake sees only the files git tracks)";
pub const NIX_BUILD_NEEDS_NEW: &str = "before `nix build`: git init && git add -A, then \
     uv lock && git add uv.lock (a flake sees only the files git tracks)";

pub fn run(cwd: &Path, args: crate::request::Init) -> Result<ExitStatus> {
    if !cwd.join(paxx_toml::FILE).is_file() {
        bail!(
            "`{}` has no {}: run `nix flake init -t github:paxx-dev/paxx#fastapi` in it first, \
             or create a project with `paxx-compose new <DIR>`",
            cwd.display(),
            paxx_toml::FILE
        );
    }
    let catalog = project::load_catalog()?;
    let files = project::disk(cwd);
    let project = Project::load(&files)?;
    let template = catalog.template(&project.state.template)?;
    let name = match args.name {
        Some(name) => name,
        None => project::name_from_dir(cwd)?,
    };
    let plan = plan_rename(&project, template, &name)?;
    super::finish(
        cwd,
        &plan,
        args.dry_run,
        &format!("named the project `{name}`"),
    )?;
    // After the plan: the key belongs to the user's `.env`, not to what paxx tracks.
    let env = cwd.join(crate::dev_env::FILE);
    if args.dry_run {
        if std::fs::symlink_metadata(&env).is_err() {
            note!("would write `.env` with a random SECRET_KEY for development");
        }
    } else if crate::dev_env::write_if_absent(cwd)? {
        note!("wrote `.env` with a random SECRET_KEY for development (git ignores it)");
    }
    if !args.dry_run {
        note!("{NIX_BUILD_NEEDS}");
    }
    Ok(ExitStatus::Success)
}
