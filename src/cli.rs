//! Command-line interface. clap stays here: the parsed arguments become a plain
//! `request::Invocation` once (`From<Cli>`), which is all `commands::*` see. (`completions`
//! and `man` describe this interface itself, so they read it through [`command`].)

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::request;

/// Compose feature modules into a Nix-flake web service project, without losing your work.
#[derive(Debug, Parser)]
#[command(name = "paxx-compose", version, propagate_version = true)]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', id = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Say only what was asked for (stdout), warnings and errors: no progress or notes.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project in DIR from a template, with features.
    New(NewArgs),
    /// Adopt a folder made by `nix flake init -t github:paxx-dev/paxx#<template>`: give it its name.
    Init(InitArgs),
    /// Add features: `paxx-compose add feature redis tasks` (or `add redis tasks`).
    Add(ChangeArgs),
    /// Remove features, taking out exactly what they added.
    #[command(alias = "rm")]
    Remove(ChangeArgs),
    /// List the modules that fit this project's template; enabled ones are marked.
    List(ListArgs),
    /// Describe a module: summary, requires, conflicts, files, dependencies, services, env.
    Show(ShowArgs),
    /// Show the template, the features, the generated files you changed, and the services.
    Status(StatusArgs),
    /// Start the project's services (PostgreSQL …) in order and wait until they are ready.
    ///
    /// In the foreground (the default) their output is shown, each line behind the
    /// service's name, until Ctrl-C stops them all. Services already running are left
    /// as they are; only the missing ones are started. A service that exits while `up`
    /// runs is said at once and, as its manifest's `restart` says, started again.
    Up(UpArgs),
    /// Stop the services `up` started (all, or those named), last started first.
    Down(DownArgs),
    /// Print the environment that reaches the services, as `export` lines:
    /// `eval "$(paxx-compose env)"`.
    Env(EnvArgs),
    /// Check what this machine lacks for this project, and say how to get it.
    Doctor(DoctorArgs),
    /// Bring the project to this paxx-compose's templates and modules, keeping your edits.
    ///
    /// Each file paxx generated is merged three ways: what paxx generated for this
    /// project at its recorded version, the file as it is now, and what paxx generates
    /// now. Files you did not change are replaced; yours are kept or merged; where both
    /// changed the same lines, the file gets conflict markers and the exit code is 1.
    Upgrade(UpgradeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    ///
    /// Bash: `paxx-compose completions bash > ~/.local/share/bash-completion/completions/paxx-compose`.
    /// Feature names (for add, remove, show) are the catalog's when the script is made.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `paxx-compose man | man -l -`.
    Man(ManArgs),
    /// Release tool: store a catalog in a catalog history (content-addressed), so that
    /// later versions can upgrade projects made from it.
    #[command(hide = true)]
    SnapshotCatalog(SnapshotArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Folder to create (must not exist, or be empty).
    pub dir: PathBuf,
    /// Template to start from.
    #[arg(long, short = 't', default_value = "fastapi")]
    pub template: String,
    /// Project name (a Python distribution name); defaults to DIR's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Features to add, comma-separated or repeated: `--feature redis,tasks`.
    #[arg(long = "feature", short = 'f', value_delimiter = ',')]
    pub features: Vec<String>,
    /// Print what would be written, as a unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Project name (a Python distribution name); defaults to the folder's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Print what would change, as a unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Feature names, optionally after the word `feature`.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Print what would change, as a unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite or delete generated files even if you changed them.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (documented in the README; stable).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Module name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON (documented in the README; stable).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Services to start (with the services they start after); all when none are named.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Return once every service is ready, leaving them running in the background with
    /// a supervisor that restarts them (output in `.paxx/logs/<service>.log`, the
    /// supervisor's in `.paxx/logs/up.log`); stop them with `paxx-compose down`.
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// The supervisor `--detach` leaves running in the background (internal).
    #[arg(long, hide = true, conflicts_with = "detach")]
    pub background: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Services to stop; all when none are named.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Then remove their data too (`.paxx/state/<service>`, and what is kept outside the
    /// project for a service that runs as another account): the next `up` starts afresh.
    #[arg(long)]
    pub clean: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print a JSON object of names to values instead.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON: `{"ok": bool, "checks": [{"check", "status", "detail", "fix"}]}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Print what would change, as a unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run even though the project's git work tree has uncommitted changes.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// A catalog folder (`templates/`, `modules/`); default: the catalog this binary
    /// carries (or `PAXX_CATALOG`).
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// The version to store it as; default: the catalog's own (`catalog.toml`, or the
    /// crate's for the embedded one).
    #[arg(long = "as", id = "as", value_name = "VERSION")]
    pub as_version: Option<String>,
    /// The history folder to write into.
    #[arg(long, value_name = "DIR", default_value = "catalog-history")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (`paxx-compose.1`, `paxx-compose-add.1` …) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The clap description of this interface, for completions and the man page.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// The names, without the optional leading `feature`/`features` word.
fn feature_names(names: &[String]) -> Vec<String> {
    let skip = matches!(
        names.first().map(String::as_str),
        Some("feature" | "features")
    );
    names
        .iter()
        .skip(usize::from(skip))
        .flat_map(|n| n.split(','))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

impl From<Cli> for request::Invocation {
    fn from(cli: Cli) -> Self {
        use request::Command as R;
        let change = |action, a: ChangeArgs| {
            R::Change(request::Change {
                action,
                names: feature_names(&a.names),
                dry_run: a.dry_run,
                force: a.force,
            })
        };
        let command = match cli.command {
            Command::New(a) => R::New(request::New {
                dir: a.dir,
                template: a.template,
                name: a.name,
                features: a.features,
                dry_run: a.dry_run,
            }),
            Command::Init(a) => R::Init(request::Init {
                name: a.name,
                dry_run: a.dry_run,
            }),
            Command::Add(a) => change(request::Action::Add, a),
            Command::Remove(a) => change(request::Action::Remove, a),
            Command::List(a) => R::List { json: a.json },
            Command::Show(a) => R::Show { name: a.name },
            Command::Status(a) => R::Status { json: a.json },
            Command::Up(a) => R::Up(request::Up {
                services: a.services,
                mode: match (a.detach, a.background) {
                    (true, _) => request::Mode::Detach,
                    (_, true) => request::Mode::Background,
                    _ => request::Mode::Foreground,
                },
            }),
            Command::Down(a) => R::Down(request::Down {
                services: a.services,
                clean: a.clean,
            }),
            Command::Env(a) => R::Env { json: a.json },
            Command::Doctor(a) => R::Doctor { json: a.json },
            Command::Upgrade(a) => R::Upgrade(request::Upgrade {
                dry_run: a.dry_run,
                force: a.force,
            }),
            Command::Completions(a) => R::Completions { shell: a.shell },
            Command::Man(a) => R::Man { dir: a.dir },
            Command::SnapshotCatalog(a) => R::SnapshotCatalog(request::Snapshot {
                from: a.from,
                as_version: a.as_version,
                out: a.out,
            }),
        };
        request::Invocation {
            chdir: cli.chdir,
            command,
        }
    }
}
