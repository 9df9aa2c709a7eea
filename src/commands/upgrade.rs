//! `upgrade`: the project brought to this paxx-compose's catalog, the user's edits kept.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{anyhow, bail, Context, Result};

use crate::apply;
use crate::catalog::source::compare_versions;
use crate::catalog::{extra_modules_dir, history, Catalog};
use crate::cli::UpgradeArgs;
use crate::diff;
use crate::editors::paxx_toml::{self, PaxxTomlMut};
use crate::plan::{Change, Project};
use crate::upgrade::{open_conflicts, plan_upgrade, Outcome};

pub fn run(cwd: &Path, args: UpgradeArgs) -> Result<ExitCode> {
    let root = super::project_root(cwd)?;
    let new = super::load_catalog()?;
    let files = super::disk(&root);
    let project = Project::load(&files)?;
    let from = project.state.paxx_version.clone();
    let (open, resolved) = open_conflicts(&project.state.conflicts, &files)?;

    if from == new.version {
        if !resolved.is_empty() && !args.dry_run {
            // The record only serves `status` until the markers are gone: tidy it up.
            let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
            doc.set_conflicts(&open);
            let change = Change {
                path: paxx_toml::FILE.into(),
                before: Some(project.paxx_toml.clone().into_bytes()),
                after: Some(doc.render().into_bytes()),
            };
            apply::apply(&root, &[change])?;
            eprintln!("resolved: {}", resolved.join(", "));
        }
        eprintln!("already up to date (paxx {from})");
        return Ok(report_open(&open));
    }
    if !open.is_empty() {
        bail!(
            "the last upgrade left conflict markers in {}: resolve them first (edit each \
             file, keep what you want, delete the <<<<<<< ||||||| ======= >>>>>>> lines), \
             then run `paxx-compose upgrade` again",
            quoted(&open)
        );
    }
    if compare_versions(&from, &new.version) == Some(std::cmp::Ordering::Greater) {
        bail!(
            "this project was made with paxx {from}, newer than this paxx-compose's catalog \
             ({}): update paxx-compose (`nix flake update paxx`, or a newer binary)",
            new.version
        );
    }
    if !args.dry_run && !args.force {
        refuse_uncommitted(&root)?;
    }
    let old_files = history::find(&from)?.ok_or_else(|| unknown_version(&from, &new.version))?;
    let old = Catalog::parse(&old_files, extra_modules_dir().as_deref())
        .with_context(|| format!("cannot load the paxx {from} catalog from the history"))?;
    let plan = plan_upgrade(&old, &new, &project)?;

    eprintln!(
        "{} `{}` from paxx {from} to {}",
        if args.dry_run {
            "would upgrade"
        } else {
            "upgrading"
        },
        project.state.name,
        new.version
    );
    for report in &plan.reports {
        eprintln!("  {report}");
    }
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    if args.dry_run {
        for change in &plan.changes {
            print!("{}", diff::unified(change));
        }
        eprintln!(
            "dry run: {} file(s) would change; nothing was written",
            plan.changes.len()
        );
    } else {
        apply::apply(&root, &plan.changes)?;
        eprintln!(
            "upgraded to paxx {}: {}",
            new.version,
            summary(&plan.reports)
        );
    }
    Ok(report_open(&plan.conflicts))
}

/// Conflicts left: listed, and exit code 1 so scripts notice.
fn report_open(conflicts: &[String]) -> ExitCode {
    if conflicts.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "CONFLICT in {} file(s): {}. Both you and paxx changed the same lines; each file \
         shows yours, paxx's old and paxx's new version between <<<<<<< ||||||| ======= >>>>>>> \
         markers. Keep what you want and delete the markers; `paxx-compose status` lists \
         them until then",
        conflicts.len(),
        quoted(conflicts)
    );
    ExitCode::FAILURE
}

fn summary(reports: &[crate::upgrade::Report]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in reports {
        let label = match &r.outcome {
            Outcome::Renamed(_) => "renamed".to_string(),
            Outcome::SettingsRenamed => "settings renamed".to_string(),
            Outcome::KeptChanged
            | Outcome::KeptDeleted
            | Outcome::KeptGoneChanged
            | Outcome::KeptBinary => "kept".to_string(),
            Outcome::Conflict => "conflict".to_string(),
            other => other.to_string(),
        };
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
    }
    if counts.is_empty() {
        return "no file changed".into();
    }
    counts
        .iter()
        .map(|(l, n)| format!("{n} {l}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_version(from: &str, current: &str) -> anyhow::Error {
    let known = history::versions();
    anyhow!(
        "this paxx-compose ({current}) knows no catalog for paxx {from}, the version this \
         project records{}. Upgrade with a paxx-compose that knows it (one released after \
         {from}), or set {}=<DIR> to a folder holding `{from}/templates` and \
         `{from}/modules` (e.g. a checkout of paxx {from})",
        if known.is_empty() {
            String::new()
        } else {
            format!(" (it knows: {})", known.join(", "))
        },
        history::HISTORY_ENV
    )
}

/// With uncommitted changes, the upgrade's own could not be told apart from the user's in
/// `git diff`, nor undone with `git checkout`: refuse unless --force. Outside a git work
/// tree (or without git) there is nothing to check.
fn refuse_uncommitted(root: &Path) -> Result<()> {
    let Ok(git) = which::which("git") else {
        return Ok(());
    };
    let inside = Command::new(&git)
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .with_context(|| format!("cannot run `{}`", git.display()))?;
    if !inside.status.success() || String::from_utf8_lossy(&inside.stdout).trim() != "true" {
        return Ok(());
    }
    let status = Command::new(&git)
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=all", "--", "."])
        .output()
        .with_context(|| format!("cannot run `{}`", git.display()))?;
    if !status.status.success() {
        bail!(
            "`git status` failed in `{}`: {}",
            root.display(),
            String::from_utf8_lossy(&status.stderr).trim()
        );
    }
    let dirty: Vec<String> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = dirty.iter().take(10).map(String::as_str).collect();
    bail!(
        "`{}` has uncommitted changes (`git status --porcelain`: {}{}). Commit or stash them \
         first, so that the upgrade's changes can be reviewed with `git diff` and undone with \
         `git checkout`; or pass --force",
        root.display(),
        shown.join("; "),
        if dirty.len() > shown.len() {
            "; …"
        } else {
            ""
        }
    )
}
