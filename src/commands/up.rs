//! `up`: start the project's services (or those named, with what they start after).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::UpArgs;
use crate::services;
use crate::services::supervisor::Mode;

pub fn run(cwd: &Path, args: UpArgs) -> Result<ExitCode> {
    let loaded = services::load(cwd)?;
    let mode = match (args.detach, args.background) {
        (true, _) => Mode::Detach,
        (_, true) => Mode::Background,
        _ => Mode::Foreground,
    };
    services::supervisor::up(&loaded, &args.services, mode)
}
