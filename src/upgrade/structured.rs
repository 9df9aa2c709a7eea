//! `pyproject.toml` and `.env.example`: what paxx put in them (dependency entries,
//! feature blocks of settings) is re-planned from the manifests, entry by entry, on the
//! user's file; only the rest (the template's own text) is merged three ways, with paxx's
//! lines set aside. Where paxx's entries sit in the user's file therefore never makes a
//! conflict, however the features were added over time.

use anyhow::Result;

use super::merge::{merge3, merge3_setting_aside, Labels, Merged};
use crate::editors::env_file::EnvFile;
use crate::editors::pyproject::{package_name, DepGroup, PyProjectMut};

const GROUPS: [DepGroup; 2] = [DepGroup::Runtime, DepGroup::Dev];

pub struct Pyproject<'a> {
    pub ours: &'a str,
    /// The template's file as the old and the new catalog make it for this project.
    pub base_bare: &'a str,
    pub theirs_bare: &'a str,
    /// Entries paxx added (paxx.toml `[pyproject]`), runtime then dev.
    pub recorded: [&'a [String]; 2],
    /// Entries the features need now, runtime then dev.
    pub needed: [Vec<String>; 2],
}

pub struct Outcome {
    pub merged: Merged,
    /// For pyproject: the entries paxx added, runtime then dev, to record in paxx.toml.
    pub recorded: [Vec<String>; 2],
    pub notes: Vec<String>,
}

pub fn pyproject(input: &Pyproject, labels: &Labels) -> Result<Outcome> {
    let mut doc = PyProjectMut::parse(input.ours)?;
    let base = PyProjectMut::parse(input.base_bare)?;
    let theirs = PyProjectMut::parse(input.theirs_bare)?;
    let mut notes = Vec::new();
    let mut recorded: [Vec<String>; 2] = Default::default();
    for (g, group) in GROUPS.into_iter().enumerate() {
        let features = (input.recorded[g], &input.needed[g]);
        recorded[g] = replan_features(&mut doc, group, features, &mut notes)?;
        let template = (base.entries(group), theirs.entries(group));
        replan_template(&mut doc, group, template, &mut notes)?;
    }
    let ours = doc.render();
    let merged = if input.base_bare == input.theirs_bare {
        Merged::Clean(ours)
    } else {
        // Entry lines are settled above: set them aside on every side.
        let entries = |d: &PyProjectMut| -> Vec<String> {
            GROUPS.iter().flat_map(|g| d.entries(*g)).collect()
        };
        let strip = |text: &str, d: &PyProjectMut| {
            let flags = entry_lines(text, &entries(d));
            keep_unflagged(text, &flags)
        };
        let aside = entry_lines(&ours, &entries(&doc));
        merge3_setting_aside(
            &strip(input.base_bare, &base),
            &ours,
            &strip(input.theirs_bare, &theirs),
            &aside,
            labels,
            false,
        )
    };
    Ok(Outcome {
        merged,
        recorded,
        notes,
    })
}

/// The features' entries in one group, by package, so a bumped spec replaces the old one
/// in place. Returns the entries paxx added.
fn replan_features(
    doc: &mut PyProjectMut,
    group: DepGroup,
    (recorded, needed): (&[String], &Vec<String>),
    notes: &mut Vec<String>,
) -> Result<Vec<String>> {
    let file = PyProjectMut::FILE;
    let mut added = Vec::new();
    let mut matched = Vec::new();
    for old in recorded {
        let package = package_name(old);
        match needed.iter().find(|n| package_name(n) == package) {
            Some(new) => {
                matched.push(new.clone());
                if doc.replace_dependency(group, old, new)? {
                    added.push(new.clone());
                } else if new != old && doc.has_package(group, new) {
                    notes.push(format!(
                        "{file}: you changed `{old}`; paxx now asks for `{new}`: yours is kept"
                    ));
                }
            }
            None => {
                doc.remove_dependency(group, old)?;
            }
        }
    }
    for new in needed.iter().filter(|n| !matched.contains(n)) {
        if !doc.has_package(group, new) {
            doc.add_dependency(group, new)?;
            added.push(new.clone());
        }
    }
    Ok(added)
}

/// The template's own entries in one group, from the old template's to the new one's.
fn replan_template(
    doc: &mut PyProjectMut,
    group: DepGroup,
    (before, after): (Vec<String>, Vec<String>),
    notes: &mut Vec<String>,
) -> Result<()> {
    let file = PyProjectMut::FILE;
    for (i, new) in after.iter().enumerate() {
        let package = package_name(new);
        match before.iter().find(|b| package_name(b) == package) {
            Some(old) if old == new => {}
            Some(old) => {
                let replaced = doc.replace_dependency(group, old, new)?;
                if !replaced && doc.has_package(group, new) {
                    notes.push(format!(
                        "{file}: you changed `{old}`; the template now has `{new}`: yours is kept"
                    ));
                }
            }
            None if !doc.has_package(group, new) => {
                let previous = i.checked_sub(1).map(|p| after[p].as_str());
                doc.insert_dependency_after(group, new, previous)?;
            }
            None => {}
        }
    }
    for old in &before {
        if !after.iter().any(|a| package_name(a) == package_name(old)) {
            doc.remove_dependency(group, old)?;
        }
    }
    Ok(())
}

/// Which lines hold one dependency entry each (`    "redis>=5",  # why`).
fn entry_lines(text: &str, entries: &[String]) -> Vec<bool> {
    text.split_inclusive('\n')
        .map(|line| {
            let line = line.trim();
            entries.iter().any(|e| {
                ['"', '\''].iter().any(|q| {
                    line.strip_prefix(&format!("{q}{e}{q}"))
                        .is_some_and(|rest| {
                            let rest = rest.trim_start();
                            let rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
                            rest.is_empty() || rest.starts_with('#')
                        })
                })
            })
        })
        .collect()
}

fn keep_unflagged(text: &str, flags: &[bool]) -> String {
    text.split_inclusive('\n')
        .zip(flags)
        .filter(|(_, f)| !**f)
        .map(|(l, _)| l)
        .collect()
}

pub type Blocks = crate::plan::EnvBlocks;

pub struct EnvExample<'a> {
    pub ours: &'a str,
    pub base_bare: &'a str,
    pub theirs_bare: &'a str,
    /// Settings renamed by migrations, in order: old key → new key.
    pub renames: &'a [(String, String)],
    /// Each enabled feature's entries, as the old catalog and the new one write them
    /// (the old ones with the renames applied).
    pub old_blocks: &'a Blocks,
    pub new_blocks: &'a Blocks,
}

pub fn env_example(input: &EnvExample, labels: &Labels) -> Outcome {
    let file = EnvFile::FILE;
    let mut env = EnvFile::parse(input.ours);
    let mut notes = Vec::new();
    for (old, new) in input.renames {
        if !env.rename_key(old, new) && env.has_key(old) {
            notes.push(format!(
                "{file}: `{old}` is now `{new}`, which you have already: `{old}` left as it is"
            ));
        }
    }
    for (feature, entries) in input.new_blocks {
        match input.old_blocks.get(feature) {
            Some(old_entries) => replan_block(&mut env, feature, old_entries, entries, &mut notes),
            None => env.add_block(feature, entries),
        }
    }
    for (feature, old_entries) in input.old_blocks {
        if input.new_blocks.contains_key(feature) {
            continue;
        }
        match env.block_entries(feature) {
            Some(now) if &now == old_entries => env.remove_block(feature),
            Some(_) => notes.push(format!(
                "{file}: the `{feature}` block is no longer paxx's; you changed it, so it stays"
            )),
            None => {}
        }
    }
    let ours = env.render();
    let merged = if input.base_bare == input.theirs_bare {
        Merged::Clean(ours)
    } else {
        let mut aside = vec![false; ours.split_inclusive('\n').count()];
        for feature in input.old_blocks.keys().chain(input.new_blocks.keys()) {
            if let Some(range) = env.block_lines(feature) {
                aside[range].iter_mut().for_each(|f| *f = true);
            }
        }
        // Settings are a list: lines both sides add at one place all belong.
        merge3_setting_aside(
            input.base_bare,
            &ours,
            input.theirs_bare,
            &aside,
            labels,
            true,
        )
    };
    Outcome {
        merged,
        recorded: Default::default(),
        notes,
    }
}

/// One feature's block, from what paxx wrote then (`old_entries`) to what it writes now:
/// a value is replaced only where it still reads paxx's old one; a value the user changed
/// is kept, and said.
fn replan_block(
    env: &mut EnvFile,
    feature: &str,
    old_entries: &[(String, String)],
    entries: &[(String, String)],
    notes: &mut Vec<String>,
) {
    let file = EnvFile::FILE;
    if env.block_entries(feature).is_none() {
        return; // the user took the block out (or had every key already)
    }
    let yours = |env: &EnvFile, key: &str| {
        env.block_entries(feature)
            .and_then(|now| now.into_iter().find(|(k, _)| k == key))
            .map(|(_, v)| v)
    };
    for (key, value) in entries {
        match old_entries.iter().find(|(k, _)| k == key) {
            Some((_, old)) if old == value => {}
            Some((_, old)) => {
                if env.replace_in_block(feature, key, old, Some(value)) {
                    continue;
                }
                if let Some(mine) = yours(env, key) {
                    notes.push(format!(
                        "{file}: you changed `{key}` to `{mine}`; paxx's default is now \
                         `{value}` (was `{old}`): yours is kept"
                    ));
                }
            }
            None if !env.has_key(key) => {
                env.insert_in_block(feature, key, value);
            }
            None => {}
        }
    }
    for (key, old) in old_entries {
        if entries.iter().any(|(k, _)| k == key) || env.replace_in_block(feature, key, old, None) {
            continue;
        }
        if let Some(mine) = yours(env, key) {
            notes.push(format!(
                "{file}: `{key}` is no longer a setting of `{feature}`; you changed it to \
                 `{mine}`, so it stays"
            ));
        }
    }
}

/// The user's `.env` (their own settings, never generated): only migrations' renames.
pub fn dot_env(text: &str, renames: &[(String, String)]) -> Option<String> {
    let mut env = EnvFile::parse(text);
    let mut changed = false;
    for (old, new) in renames {
        changed |= env.rename_key(old, new);
    }
    changed.then(|| env.render())
}

/// A plain three-way merge, for everything else.
pub fn text(base: &str, ours: &str, theirs: &str, labels: &Labels) -> Merged {
    merge3(base, ours, theirs, labels, false)
}

#[cfg(test)]
mod tests;
