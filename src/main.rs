use std::process::ExitCode;

use clap::Parser;

mod apply;
mod catalog;
mod cli;
mod commands;
mod diff;
mod editors;
mod hash;
mod manifest;
mod paths;
mod plan;
mod render;
mod resolve;
mod services;
mod toml_error;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
