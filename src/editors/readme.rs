//! The project README: the text between two markers lists the enabled features' sections.

pub const START: &str = "<!-- paxx:features:start -->";
pub const END: &str = "<!-- paxx:features:end -->";

/// Replaces what lies between the marker lines with `sections` joined by blank lines.
/// `None` when the markers are missing or out of order (the user took them out).
pub fn with_sections(text: &str, sections: &[&str]) -> Option<String> {
    let start = text.find(START)?;
    let after_start = start + START.len();
    let after_start = after_start + usize::from(text[after_start..].starts_with('\n'));
    let end = after_start + text[after_start..].find(END)?;
    let body: Vec<String> = sections
        .iter()
        .map(|s| s.trim_end_matches('\n').to_string())
        .collect();
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..after_start]);
    if !body.is_empty() {
        out.push_str(&body.join("\n\n"));
        out.push('\n');
    }
    out.push_str(&text[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_go_between_the_markers_and_come_out_again() {
        let bare = format!("# app\n\n{START}\n{END}\n\nmore\n");
        let with = with_sections(&bare, &["## Redis\n\nCache.\n", "## Tasks\n"]).unwrap();
        assert_eq!(
            with,
            format!("# app\n\n{START}\n## Redis\n\nCache.\n\n## Tasks\n{END}\n\nmore\n")
        );
        assert_eq!(with_sections(&with, &[]).unwrap(), bare);
    }

    #[test]
    fn missing_markers_are_reported() {
        assert!(with_sections("# app\n", &["x"]).is_none());
    }
}
