//! `down`: stop what `up` started.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DownArgs;
use crate::services;

pub fn run(cwd: &Path, args: DownArgs) -> Result<ExitCode> {
    let loaded = services::load(cwd)?;
    services::stop::down(&loaded, &args.services, args.clean)
}
