//! A module's name, checked when the catalog loads: the registry imports each enabled
//! feature as `from app.features.<name> import feature as <name>_feature`, so a name that is
//! not a Python identifier (`my-feature`, `2fa`, `class`) would render a registry that does
//! not import, in every project that enables it.

use anyhow::{bail, Result};

/// Python's keywords (3.11–3.13; soft keywords such as `match` are valid names).
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// ASCII letters, digits and `_`, not starting with a digit, not a keyword. (Python also
/// takes non-ASCII letters; a folder, a Nix attribute and a command-line word are simpler
/// without them.)
pub fn is_python_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// `file` is the manifest's path for the message.
pub fn check(file: &str, name: &str) -> Result<()> {
    if !is_python_identifier(name) {
        bail!(
            "{file}: the module name `{name}` is not a Python identifier (ASCII letters, digits \
             and `_`, not starting with a digit, not a keyword), and the registry imports it \
             as `app.features.{name}`; rename the folder and [module].name, e.g. `{}`",
            suggestion(name)
        );
    }
    Ok(())
}

fn suggestion(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        || KEYWORDS.contains(&out.as_str())
    {
        out.insert_str(0, "feature_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass_and_the_rest_get_a_name_that_would() {
        for name in [
            "redis",
            "email",
            "s3_storage",
            "_private",
            "match",
            "Feature2",
        ] {
            assert!(is_python_identifier(name), "{name}");
            check("m.toml", name).unwrap();
        }
        for (name, suggested) in [
            ("my-feature", "my_feature"),
            ("2fa", "feature_2fa"),
            ("class", "feature_class"),
            ("a.b", "a_b"),
            ("", "feature_"),
            ("café", "caf_"),
        ] {
            assert!(!is_python_identifier(name), "{name}");
            assert_eq!(suggestion(name), suggested);
            let err = check("modules/x/module.toml", name)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("modules/x/module.toml: the module name `{name}`")),
                "{err}"
            );
            assert!(is_python_identifier(&suggestion(name)), "{name}");
        }
    }
}
