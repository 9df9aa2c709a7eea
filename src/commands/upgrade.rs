//! `upgrade`: the project brought to this paxx-compose's catalog, the user's edits kept.
//!
//! Every write of its own follows one rule: into a clean git work tree, where `git diff`
//! shows the changes and git takes them back, or with --force (said). Conflict markers left
//! by the last upgrade stop it, as they stop `add` and `remove`.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::apply;
use crate::catalog::history;
use crate::diff;
use crate::editors::paxx_toml::{self, PaxxTomlMut};
use crate::plan::{Change, Project};
use crate::printer::{self, note, warning, ExitStatus};
use crate::project::{self, Standing};
use crate::request::Upgrade as Request;
use crate::upgrade::{open_conflicts, plan_upgrade, quoted, refuse_open, Outcome, Report, Upgrade};

mod git;

use git::Worktree;

pub fn run(cwd: &Path, args: Request) -> Result<ExitStatus> {
    let root = project::root(cwd)?;
    let new = project::load_catalog()?;
    let files = project::disk(&root);
    let project = Project::load(&files)?;
    let from = project.state.paxx_version.clone();
    let (open, resolved) = open_conflicts(&project.state.conflicts, &files)?;
    match project::standing(&from, &new.version) {
        Standing::Current => return tidy(&root, &project, (&open, &resolved), &args),
        Standing::Newer => bail!("{}", project::newer_project(&from, &new.version)),
        Standing::Older => {}
    }
    refuse_open(&open)?;
    let old = project::catalog_at(&from)?.ok_or_else(|| unknown_version(&from, &new.version))?;
    let worktree = if args.dry_run {
        None
    } else {
        Some(guard(&root, args.force)?)
    };
    let plan = plan_upgrade(&old, &new, &project)?;

    let verb = if args.dry_run {
        "would upgrade"
    } else {
        "upgrading"
    };
    let name = &project.state.name;
    note!("{verb} `{name}` from paxx {from} to {}", new.version);
    for report in &plan.reports {
        note!("  {report}");
    }
    for note in &plan.notes {
        note!("note: {note}");
    }
    match worktree {
        None => dry_run(&plan),
        Some(worktree) => {
            let beyond = match worktree {
                Worktree::Outside(_) => Vec::new(),
                _ => git::beyond_git(&root, &plan.changes)?,
            };
            apply::apply(&root, &plan.changes)?;
            let summary = summary(&plan.reports);
            note!("upgraded to paxx {}: {summary}", new.version);
            print_undo(&worktree, &beyond, &plan.reports);
        }
    }
    Ok(report_open(&plan.conflicts, args.dry_run))
}

/// The rule for writing: a clean git work tree, or --force (then said). Returns what git
/// said, for the undo.
fn guard(root: &Path, force: bool) -> Result<Worktree> {
    let worktree = git::worktree(root)?;
    let why = match &worktree {
        Worktree::Clean => return Ok(worktree),
        Worktree::Dirty(lines) => {
            let shown: Vec<&str> = lines.iter().take(10).map(String::as_str).collect();
            let more = if lines.len() > shown.len() {
                "; …"
            } else {
                ""
            };
            format!(
                "`{}` has uncommitted changes (`git status --porcelain`: {}{more}). Commit or \
                 stash them first, so that the upgrade's changes can be reviewed with \
                 `git diff` and undone with git",
                root.display(),
                shown.join("; ")
            )
        }
        Worktree::Outside(reason) => format!(
            "{reason}: nothing would show the upgrade's changes or take them back, and a file \
             both you and paxx changed would hold your version only between conflict markers. \
             Put the project under git first (`git init && git add -A && git commit -m \
             \"before the upgrade\"`); `paxx-compose upgrade --dry-run` shows the changes"
        ),
    };
    if !force {
        bail!("{why}; or pass --force");
    }
    if let Worktree::Outside(reason) = &worktree {
        warning!(
            "warning: {reason} (--force): nothing can show or take back this upgrade's changes"
        );
    }
    Ok(worktree)
}

/// A project already at this version: only the record of conflicts the user has resolved
/// is tidied away, under the same rule as any write.
fn tidy(
    root: &Path,
    project: &Project,
    (open, resolved): (&[String], &[String]),
    args: &Request,
) -> Result<ExitStatus> {
    if !resolved.is_empty() && !args.dry_run {
        let blocked = match git::worktree(root)? {
            _ if args.force => None,
            Worktree::Clean => None,
            Worktree::Dirty(_) => Some("the project has uncommitted changes".to_string()),
            Worktree::Outside(reason) => Some(reason),
        };
        match blocked {
            None => {
                let mut doc = PaxxTomlMut::parse(&project.paxx_toml)?;
                doc.set_conflicts(open);
                let change = Change {
                    path: paxx_toml::FILE.into(),
                    before: Some(project.paxx_toml.clone().into_bytes()),
                    after: Some(doc.render().into_bytes()),
                };
                apply::apply(root, &[change])?;
                note!("resolved: {}", resolved.join(", "));
            }
            Some(why) => note!(
                "resolved: {}. paxx.toml still lists them (`status` sees they are resolved): \
                 not rewritten, as {why}; an `upgrade` in a clean git work tree tidies the \
                 record (commit, then run it again), or one with --force",
                resolved.join(", ")
            ),
        }
    }
    note!("already up to date (paxx {})", project.state.paxx_version);
    Ok(report_open(open, false))
}

fn dry_run(plan: &Upgrade) {
    for change in &plan.changes {
        printer::text(&diff::unified(change));
    }
    let kept = plan.reports.iter().filter(|r| r.outcome.keeps()).count();
    note!(
        "dry run: {} file(s) would change, {kept} kept as they are; nothing was written",
        plan.changes.len()
    );
}

/// How to take the upgrade back, and the files git cannot give back.
fn print_undo(worktree: &Worktree, beyond: &[(String, &str)], reports: &[Report]) {
    match worktree {
        Worktree::Outside(_) => return,
        Worktree::Clean => {
            note!("to undo it: `git checkout -- . && git clean -fd` (your work tree was clean)");
        }
        Worktree::Dirty(_) => note!(
            "note: the project had uncommitted changes (--force): git cannot tell the \
             upgrade's changes from yours"
        ),
    }
    for (path, why) in beyond {
        let what = reports
            .iter()
            .find(|r| r.path == *path)
            .map_or("written".to_string(), |r| r.outcome.to_string());
        note!("not undone by git: `{path}` ({why}): {what}");
    }
}

/// Conflicts left (or that a dry run would leave): listed, and exit code 1 so scripts notice.
fn report_open(conflicts: &[String], dry_run: bool) -> ExitStatus {
    if conflicts.is_empty() {
        return ExitStatus::Success;
    }
    if dry_run {
        warning!(
            "CONFLICT: the upgrade would write conflict markers into {} file(s): {}. Both you \
             and paxx changed the same lines there",
            conflicts.len(),
            quoted(conflicts)
        );
        return ExitStatus::Failure;
    }
    warning!(
        "CONFLICT in {} file(s): {}. Both you and paxx changed the same lines; each file \
         shows yours, paxx's old and paxx's new version between <<<<<<< ||||||| ======= >>>>>>> \
         markers. Keep what you want and delete the markers; `paxx-compose status` lists \
         them until then",
        conflicts.len(),
        quoted(conflicts)
    );
    ExitStatus::Failure
}

fn summary(reports: &[Report]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in reports {
        let label = match &r.outcome {
            Outcome::Renamed(_) => "renamed".to_string(),
            Outcome::SettingsRenamed => "settings renamed".to_string(),
            outcome if outcome.keeps() => "kept".to_string(),
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
