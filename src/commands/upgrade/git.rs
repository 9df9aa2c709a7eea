//! What git says about the project, for `upgrade`'s rule — it writes where git can show
//! its changes and take them back (a clean work tree), or with --force — and, after it
//! wrote, which of the files it touched git cannot give back.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context, Result};

use crate::plan::Change;

pub enum Worktree {
    /// No git, or the project is not in a git work tree: why, for the user.
    Outside(String),
    Clean,
    /// `git status --porcelain` lines.
    Dirty(Vec<String>),
}

fn git(root: &Path, args: &[&str]) -> Result<Option<Output>> {
    git_with_input(root, args, None)
}

/// Runs git in `root`, with `input` on its stdin.
fn git_with_input(root: &Path, args: &[&str], input: Option<&[u8]>) -> Result<Option<Output>> {
    let Ok(git) = which::which("git") else {
        return Ok(None);
    };
    let mut child = Command::new(&git)
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{}`", git.display()))?;
    let mut stdin = child.stdin.take().context("git's stdin")?;
    let input = input.unwrap_or_default().to_vec();
    // Written from a thread: git may fill its stdout before it has read all of its input.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .with_context(|| format!("cannot run `{}`", git.display()))?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writing to git failed"))?
        .context("cannot write to git")?;
    Ok(Some(out))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn worktree(root: &Path) -> Result<Worktree> {
    let Some(inside) = git(root, &["rev-parse", "--is-inside-work-tree"])? else {
        return Ok(Worktree::Outside(
            "git is not installed (not on PATH)".into(),
        ));
    };
    if !inside.status.success() || stdout(&inside).trim() != "true" {
        return Ok(Worktree::Outside(format!(
            "`{}` is not in a git work tree",
            root.display()
        )));
    }
    let args = ["status", "--porcelain", "--untracked-files=all", "--", "."];
    let status = git(root, &args)?.context("git went missing")?;
    if !status.status.success() {
        bail!(
            "`git status` failed in `{}`: {}",
            root.display(),
            String::from_utf8_lossy(&status.stderr).trim()
        );
    }
    let dirty: Vec<String> = stdout(&status)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    Ok(if dirty.is_empty() {
        Worktree::Clean
    } else {
        Worktree::Dirty(dirty)
    })
}

/// The paths among `changes` (not yet written) whose state git cannot give back, and why:
/// a file that exists and git does not track (ignored, like `.env`, or untracked), and a
/// new file git ignores (`git clean -fd` leaves it).
pub fn beyond_git(root: &Path, changes: &[Change]) -> Result<Vec<(String, &'static str)>> {
    let run = |args: &[&str], input: Option<&[u8]>, ok: &[i32]| -> Result<Vec<String>> {
        let out = git_with_input(root, args, input)?.context("git went missing")?;
        if !ok.contains(&out.status.code().unwrap_or(-1)) {
            bail!(
                "`git {}` failed in `{}`: {}",
                args.iter().find(|a| !a.starts_with('-')).unwrap_or(&""),
                root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(stdout(&out)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect())
    };
    // check-ignore reads paths literally; ls-files needs telling.
    let mut args = vec!["--literal-pathspecs", "ls-files", "-z", "--"];
    args.extend(changes.iter().map(|c| c.path.as_str()));
    let tracked = run(&args, None, &[0])?;
    let input: Vec<u8> = changes
        .iter()
        .flat_map(|c| c.path.bytes().chain([0]))
        .collect();
    // Exit code 1: none of them is ignored.
    let ignored = run(&["check-ignore", "-z", "--stdin"], Some(&input), &[0, 1])?;
    let mut out = Vec::new();
    for change in changes {
        let path = &change.path;
        let why = if ignored.contains(path) {
            "git ignores it"
        } else if change.before.is_some() && !tracked.contains(path) {
            "git does not track it"
        } else {
            continue;
        };
        out.push((path.clone(), why));
    }
    Ok(out)
}
