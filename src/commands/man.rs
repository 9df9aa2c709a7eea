//! `man`: the man page, rendered by clap_mangen from the same clap definitions as
//! `--help`, so the two cannot drift apart. The Nix package installs it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

pub fn run(cwd: &Path, args: ManArgs) -> Result<ExitCode> {
    let cmd = Cli::command();
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .context("cannot render the man page")?;
            std::io::stdout()
                .write_all(&page)
                .context("cannot write the man page to stdout")?;
        }
        Some(dir) => {
            let dir = cwd.join(dir);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            // One page per visible command; hidden ones (release tools) stay out.
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("cannot write man pages into `{}`", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
