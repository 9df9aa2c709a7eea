//! `env`: the environment the project's code needs to reach its services
//! (`DATABASE_URL` …, with this project's ports), for `eval "$(paxx-compose env)"`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::EnvArgs;
use crate::services;

pub fn run(cwd: &Path, args: EnvArgs) -> Result<ExitCode> {
    let loaded = services::load(cwd)?;
    let env = &loaded.resolved.env;
    if args.json {
        println!("{}", serde_json::to_string_pretty(env)?);
    } else {
        print!("{}", services::export_lines(env));
    }
    Ok(ExitCode::SUCCESS)
}
