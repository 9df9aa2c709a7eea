//! `env`: the environment the project's code needs to reach its services
//! (`DATABASE_URL` …, with this project's ports), for `eval "$(paxx-compose env)"`.

use std::path::Path;

use anyhow::Result;

use crate::printer::{self, ExitStatus};
use crate::services;

pub fn run(cwd: &Path, json: bool) -> Result<ExitStatus> {
    let loaded = services::load(cwd)?;
    let env = &loaded.resolved.env;
    if json {
        printer::json(env)?;
    } else {
        printer::text(&services::export_lines(env));
    }
    Ok(ExitStatus::Success)
}
