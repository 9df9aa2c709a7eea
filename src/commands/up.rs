//! `up`: start the project's services (or those named, with what they start after).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::UpArgs;
use crate::services;

pub fn run(cwd: &Path, args: UpArgs) -> Result<ExitCode> {
    let loaded = services::load(cwd)?;
    services::supervisor::up(&loaded, &args.services, args.detach)
}
