//! `man`: the man page, rendered by clap_mangen from the same clap definitions as
//! `--help`, so the two cannot drift apart. The Nix package installs it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::printer::ExitStatus;

pub fn run(cwd: &Path, dir: Option<std::path::PathBuf>) -> Result<ExitStatus> {
    let cmd = crate::cli::command();
    match dir {
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
    Ok(ExitStatus::Success)
}
