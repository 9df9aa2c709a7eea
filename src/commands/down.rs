//! `down`: stop what `up` started.

use std::path::Path;

use anyhow::Result;

use crate::printer::ExitStatus;
use crate::request::Down;
use crate::services;

pub fn run(cwd: &Path, args: Down) -> Result<ExitStatus> {
    let loaded = services::load(cwd)?;
    services::stop::down(&loaded, &args.services, args.clean)
}
