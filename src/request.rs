//! What the user asked for, as plain data: `cli.rs` turns clap's arguments into these
//! once (as fd turns its `Opts` into a `Config`), and the commands never see clap.

use std::path::PathBuf;

pub use crate::services::supervisor::Mode;

/// One run of paxx-compose.
#[derive(Debug)]
pub struct Invocation {
    /// Run as if started here (`-C`).
    pub chdir: Option<PathBuf>,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    New(New),
    Init(Init),
    Change(Change),
    List { json: bool },
    Show { name: String },
    Status { json: bool },
    Up(Up),
    Down(Down),
    Env { json: bool },
    Doctor { json: bool },
    Upgrade(Upgrade),
    Completions { shell: clap_complete::Shell },
    Man { dir: Option<PathBuf> },
    SnapshotCatalog(Snapshot),
}

#[derive(Debug)]
pub struct New {
    pub dir: PathBuf,
    pub template: String,
    pub name: Option<String>,
    pub features: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct Init {
    pub name: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
}

/// `add` or `remove`.
#[derive(Debug)]
pub struct Change {
    pub action: Action,
    /// Feature names, each once asked for.
    pub names: Vec<String>,
    pub dry_run: bool,
    pub force: bool,
}

#[derive(Debug)]
pub struct Up {
    pub services: Vec<String>,
    pub mode: Mode,
}

#[derive(Debug)]
pub struct Down {
    pub services: Vec<String>,
    pub clean: bool,
}

#[derive(Debug)]
pub struct Upgrade {
    pub dry_run: bool,
    pub force: bool,
}

#[derive(Debug)]
pub struct Snapshot {
    pub from: Option<PathBuf>,
    pub as_version: Option<String>,
    pub out: PathBuf,
}
