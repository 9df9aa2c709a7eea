//! Three-way line merge with git-style conflict markers, and a variant that sets some of
//! the user's lines aside while merging (the lines paxx re-plans from the manifests).
//!
//! The merge itself is diffy's: a small, maintained diff3 in pure Rust with git-style
//! markers (no libgit2, no `git` on PATH, so upgrades work anywhere); this file only
//! labels its conflicts for the user and, where the file format allows, settles the one
//! kind of conflict that is no conflict: both sides inserting lines at the same place.

use similar::{ChangeTag, TextDiff};

/// The labels on a conflict's marker lines.
pub struct Labels<'a> {
    pub ours: &'a str,
    pub base: &'a str,
    pub theirs: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    Clean(String),
    /// The text with conflict markers around the hunks both sides changed.
    Conflict(String),
}

impl Merged {
    pub fn text(&self) -> &str {
        match self {
            Merged::Clean(t) | Merged::Conflict(t) => t,
        }
    }
}

/// diffy's markers are this long, so that they cannot be mistaken for lines of the files;
/// the user sees git's usual seven.
const DIFFY_MARKER: usize = 17;

enum Segment {
    Text(String),
    Conflict {
        ours: String,
        base: String,
        theirs: String,
    },
}

/// Merges `ours` and `theirs`, both descended from `base`. With `union_inserts`, a hunk
/// where both sides only inserted lines keeps theirs then ours (right for lists of
/// settings, where order does not matter and both belong).
pub fn merge3(
    base: &str,
    ours: &str,
    theirs: &str,
    labels: &Labels,
    union_inserts: bool,
) -> Merged {
    // A last line without a newline would glue itself to a marker: merge with one added.
    let ours_unterminated = !ours.is_empty() && !ours.ends_with('\n');
    let fix = |s: &str| {
        if s.is_empty() || s.ends_with('\n') {
            s.to_string()
        } else {
            format!("{s}\n")
        }
    };
    let (base, ours, theirs) = (fix(base), fix(ours), fix(theirs));
    let mut options = diffy::MergeOptions::new();
    options
        .set_conflict_style(diffy::ConflictStyle::Diff3)
        .set_conflict_marker_length(DIFFY_MARKER);
    let raw = match options.merge(&base, &ours, &theirs) {
        Ok(mut clean) => {
            if ours_unterminated && clean.ends_with('\n') {
                clean.pop();
            }
            return Merged::Clean(clean);
        }
        Err(conflicted) => conflicted,
    };
    let mut out = String::new();
    let mut conflicts = 0;
    for segment in parse(&raw) {
        match segment {
            Segment::Text(t) => out.push_str(&t),
            Segment::Conflict { ours, base, theirs } if union_inserts && base.is_empty() => {
                out.push_str(&theirs);
                out.push_str(&ours);
            }
            Segment::Conflict { ours, base, theirs } => {
                conflicts += 1;
                out.push_str(&format!("<<<<<<< {}\n{ours}", labels.ours));
                out.push_str(&format!("||||||| {}\n{base}", labels.base));
                out.push_str(&format!("=======\n{theirs}>>>>>>> {}\n", labels.theirs));
            }
        }
    }
    if conflicts == 0 {
        Merged::Clean(out)
    } else {
        Merged::Conflict(out)
    }
}

fn parse(raw: &str) -> Vec<Segment> {
    let marker = |c: char| c.to_string().repeat(DIFFY_MARKER);
    let (open, mid_base, mid, close) = (marker('<'), marker('|'), marker('='), marker('>'));
    let mut out = Vec::new();
    let mut text = String::new();
    // 0: text, 1: ours, 2: base, 3: theirs
    let mut state = 0;
    let mut parts = [String::new(), String::new(), String::new()];
    for line in raw.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        match state {
            0 if bare.starts_with(&open) => {
                out.push(Segment::Text(std::mem::take(&mut text)));
                state = 1;
            }
            0 => text.push_str(line),
            1 if bare.starts_with(&mid_base) => state = 2,
            2 if bare == mid => state = 3,
            3 if bare.starts_with(&close) => {
                let [ours, base, theirs] = std::mem::take(&mut parts);
                out.push(Segment::Conflict { ours, base, theirs });
                state = 0;
            }
            _ => parts[state - 1].push_str(line),
        }
    }
    out.push(Segment::Text(text));
    out
}

/// Whether `text` still holds a conflict marker line paxx wrote.
pub fn has_markers(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("<<<<<<< ") || l.starts_with(">>>>>>> "))
}

/// Like [`merge3`], but the lines of `ours` marked in `set_aside` (one flag per line) take no part in
/// the merge: they are taken out, the rest merged, and each run of them put back before
/// the line that followed it (at the end if none is left). paxx uses
/// this for lines it re-plans itself (dependency entries, feature blocks of settings), so
/// that where they sit in the user's file never makes a conflict with the template.
pub fn merge3_setting_aside(
    base: &str,
    ours: &str,
    theirs: &str,
    set_aside: &[bool],
    labels: &Labels,
    union_inserts: bool,
) -> Merged {
    let (kept, runs) = set_aside_runs(ours, set_aside);
    if runs.is_empty() {
        return merge3(base, ours, theirs, labels, union_inserts);
    }
    let kept_text: String = kept.concat();
    let merged = merge3(base, &kept_text, theirs, labels, union_inserts);
    let merged_lines: Vec<&str> = merged.text().split_inclusive('\n').collect();
    // Where each kept line went in the merged text (None: changed or dropped).
    let mut position: Vec<Option<usize>> = vec![None; kept.len()];
    let diff = TextDiff::from_lines(kept_text.as_str(), merged.text());
    for change in diff.iter_all_changes() {
        if let (ChangeTag::Equal, Some(old), Some(new)) =
            (change.tag(), change.old_index(), change.new_index())
        {
            position[old] = Some(new);
        }
    }
    // Insert-before index in `merged_lines` for each run.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    for (anchor, mut run) in runs {
        // Before the first line that followed the run in `ours` and survived the merge:
        // after whatever the other side inserted at that place (a template's new settings
        // come before the feature blocks that followed its text).
        let first_after = anchor.map_or(0, |i| i + 1);
        let at = position[first_after..]
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or(if anchor.is_none() {
                0
            } else {
                merged_lines.len()
            });
        if !run.ends_with('\n') && at < merged_lines.len() {
            run.push('\n');
        }
        inserts.push((at, run));
    }
    let out = put_back(&merged_lines, inserts);
    match merged {
        Merged::Clean(_) => Merged::Clean(out),
        Merged::Conflict(_) => Merged::Conflict(out),
    }
}

/// A run of set-aside lines: the index in the kept lines of the line before it (None at
/// the start), and its text.
type Run = (Option<usize>, String);

/// `ours` split into the lines that take part in the merge and the runs set aside.
fn set_aside_runs<'a>(ours: &'a str, set_aside: &[bool]) -> (Vec<&'a str>, Vec<Run>) {
    let mut kept: Vec<&str> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut in_run = false;
    for (i, line) in ours.split_inclusive('\n').enumerate() {
        if !set_aside.get(i).copied().unwrap_or(false) {
            kept.push(line);
            in_run = false;
        } else if in_run {
            runs.last_mut().expect("in a run").1.push_str(line);
        } else {
            runs.push((kept.len().checked_sub(1), line.to_string()));
            in_run = true;
        }
    }
    (kept, runs)
}

/// The merged lines with each run inserted before the line at its index (sorted by
/// index); runs past the end go last.
fn put_back(merged_lines: &[&str], inserts: Vec<(usize, String)>) -> String {
    let mut out = String::new();
    let mut pending = inserts.into_iter().peekable();
    for (i, line) in merged_lines.iter().enumerate() {
        while let Some((_, run)) = pending.next_if(|(at, _)| *at == i) {
            out.push_str(&run);
        }
        out.push_str(line);
    }
    for (_, run) in pending {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&run);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: Labels = Labels {
        ours: "yours",
        base: "paxx 1",
        theirs: "paxx 2",
    };

    /// Lines holding a `+` are set aside.
    fn plus(text: &str) -> Vec<bool> {
        text.lines().map(|l| l.contains('+')).collect()
    }

    fn merge(base: &str, ours: &str, theirs: &str) -> Merged {
        merge3(base, ours, theirs, &LABELS, false)
    }

    #[test]
    fn separate_edits_merge_cleanly() {
        let base = "a\nb\nc\nd\ne\n";
        let got = merge(base, "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n");
        assert_eq!(got, Merged::Clean("A\nb\nc\nd\nE\n".into()));
    }

    #[test]
    fn overlapping_edits_get_labelled_markers() {
        let got = merge("a\nb\nc\n", "a\nmine\nc\n", "a\nnew\nc\n");
        assert_eq!(
            got,
            Merged::Conflict(
                "a\n<<<<<<< yours\nmine\n||||||| paxx 1\nb\n=======\nnew\n>>>>>>> paxx 2\nc\n"
                    .into()
            )
        );
        assert!(has_markers(got.text()));
        assert!(!has_markers("a\n======= not a marker\n"));
    }

    #[test]
    fn a_missing_last_newline_stays_missing_and_never_glues_to_a_marker() {
        assert_eq!(merge("a\nb", "A\nb", "a\nb"), Merged::Clean("A\nb".into()));
        let got = merge("a", "mine", "new");
        assert!(
            got.text()
                .contains("mine\n||||||| paxx 1\na\n=======\nnew\n"),
            "{got:?}"
        );
    }

    #[test]
    fn inserts_at_the_same_place_can_be_kept_both() {
        let got = merge3("a\n", "a\nmine\n", "a\nnew\n", &LABELS, true);
        assert_eq!(got, Merged::Clean("a\nnew\nmine\n".into()));
        let got = merge3("a\n", "a\nmine\n", "a\nnew\n", &LABELS, false);
        assert!(matches!(got, Merged::Conflict(_)));
    }

    #[test]
    fn lines_set_aside_go_back_before_the_line_they_preceded() {
        // `+` lines are paxx's; the template inserted `d` right where they sit, which a
        // plain merge would call a conflict.
        let (base, ours, theirs) = ("a\nb\nc\n", "a\nb\n+x\n+y\nc\n", "a\nb\nd\nc\n");
        assert!(matches!(merge(base, ours, theirs), Merged::Conflict(_)));
        let got = merge3_setting_aside(base, ours, theirs, &plus(ours), &LABELS, false);
        assert_eq!(got, Merged::Clean("a\nb\nd\n+x\n+y\nc\n".into()));
        // At the end of the file they stay at the end, after what the template appended.
        let (ours, theirs) = ("a\nb\nc\n+x\n", "a\nb\nc\nd\n");
        let got = merge3_setting_aside(base, ours, theirs, &plus(ours), &LABELS, false);
        assert_eq!(got, Merged::Clean("a\nb\nc\nd\n+x\n".into()));
    }

    #[test]
    fn lines_set_aside_at_the_start_and_end_stay_there() {
        let ours = "+s\na\n+e\n";
        let got = merge3_setting_aside("a\n", ours, "A\n", &plus(ours), &LABELS, false);
        assert_eq!(got, Merged::Clean("+s\nA\n+e\n".into()));
    }

    #[test]
    fn when_their_anchor_changed_they_go_before_the_next_line() {
        let base = "[\n  old,\n]\n";
        let ours = "[\n  old,\n  +mine,\n]\n";
        let theirs = "[\n  new,\n]\n";
        let got = merge3_setting_aside(base, ours, theirs, &plus(ours), &LABELS, false);
        assert_eq!(got, Merged::Clean("[\n  new,\n  +mine,\n]\n".into()));
    }
}
