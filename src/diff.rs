//! Unified diffs of a plan, for `--dry-run`.

use similar::TextDiff;

use crate::plan::Change;

pub fn unified(change: &Change) -> String {
    let text = |b: &Option<Vec<u8>>| {
        b.as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned()
    };
    let (before, after) = (text(&change.before), text(&change.after));
    let old_name = if change.before.is_some() {
        format!("a/{}", change.path)
    } else {
        "/dev/null".into()
    };
    let new_name = if change.after.is_some() {
        format!("b/{}", change.path)
    } else {
        "/dev/null".into()
    };
    let is_binary = |b: &Option<Vec<u8>>| {
        b.as_deref()
            .is_some_and(|b| std::str::from_utf8(b).is_err())
    };
    if is_binary(&change.before) || is_binary(&change.after) {
        return format!("Binary files {old_name} and {new_name} differ\n");
    }
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &new_name)
        .to_string()
}
