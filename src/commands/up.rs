//! `up`: start the project's services (or those named, with what they start after).

use std::path::Path;

use anyhow::Result;

use crate::printer::ExitStatus;
use crate::request::Up;
use crate::services;

pub fn run(cwd: &Path, args: Up) -> Result<ExitStatus> {
    let loaded = services::load(cwd)?;
    services::supervisor::up(&loaded, &args.services, args.mode)
}
