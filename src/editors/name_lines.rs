//! The lines of a template's files that show the project's name (`# shop`,
//! `PROJECT_NAME: str = "shop"`), as its manifest's `[names]` declares them: a pattern is a
//! whole line with `{name}` where the name goes. Whole lines only, so that a name which is
//! also a common word (`app`) is never replaced anywhere else.

pub const PLACEHOLDER: &str = "{name}";

/// `pattern` with the name in place.
pub fn fill(pattern: &str, name: &str) -> String {
    pattern.replace(PLACEHOLDER, name)
}

/// Whether some line of `text` is `pattern` showing `name`.
pub fn shows(text: &str, pattern: &str, name: &str) -> bool {
    let line = fill(pattern, name);
    text.lines().any(|l| l == line)
}

/// `text` with every line that is `pattern` showing `old` made to show `new`, line endings
/// kept; `None` when no line shows `old` that way (the user changed it, or it is gone).
pub fn rename(text: &str, pattern: &str, old: &str, new: &str) -> Option<String> {
    let (from, to) = (fill(pattern, old), fill(pattern, new));
    let mut found = false;
    let mut out = String::with_capacity(text.len() + to.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n').trim_end_matches('\r');
        if body == from {
            found = true;
            out.push_str(&to);
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_lines_change() {
        let text = "# app\n\nThe app serves `app`.\n# app\r\nPROJECT_NAME=app";
        assert_eq!(
            rename(text, "# {name}", "app", "my-shop").unwrap(),
            "# my-shop\n\nThe app serves `app`.\n# my-shop\r\nPROJECT_NAME=app"
        );
        assert_eq!(
            rename(text, "PROJECT_NAME={name}", "app", "shop").unwrap(),
            "# app\n\nThe app serves `app`.\n# app\r\nPROJECT_NAME=shop"
        );
    }

    #[test]
    fn a_line_the_user_changed_is_not_found() {
        assert_eq!(rename("# My Shop\n", "# {name}", "app", "shop"), None);
        assert!(!shows("# My Shop\n", "# {name}", "app"));
        assert!(shows("x\n# app\n", "# {name}", "app"));
    }
}
