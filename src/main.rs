use std::process::ExitCode;

use clap::Parser;

mod apply;
mod catalog;
mod cli;
mod commands;
mod dev_env;
mod diff;
mod editors;
mod hash;
mod manifest;
mod paths;
mod plan;
mod printer;
mod project;
mod render;
mod request;
mod resolve;
mod services;
mod toml_error;
mod upgrade;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if !matches!(cli.command, cli::Command::Up(_)) {
        // `paxx-compose list --json | head` should end quietly, as other Unix tools do.
        // Not for `up`: it must outlive a closed pipe long enough to stop its services.
        // SAFETY: called before any thread starts; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    printer::set_quiet(cli.quiet);
    match commands::run(cli.into()) {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
