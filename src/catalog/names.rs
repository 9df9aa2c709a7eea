//! A template's `[names]`, checked when the catalog loads: each listed line must be in its
//! file showing the template's own name (its `paxx.toml`'s), or `new` would leave that name
//! there without a word.

use anyhow::{anyhow, bail, Context, Result};

use super::source::FileSet;
use crate::editors::name_lines::{self, PLACEHOLDER};
use crate::editors::paxx_toml::{self, PaxxTomlMut};
use crate::manifest::TemplateManifest;
use crate::paths::check_relative;

/// `file` is the manifest's path for messages, `tree` the template's files.
pub fn check(file: &str, manifest: &TemplateManifest, tree: &FileSet) -> Result<()> {
    if manifest.names.is_empty() {
        return Ok(());
    }
    let template = &manifest.template.name;
    let text_of = |path: &str| -> Result<&str> {
        let bytes = tree.get(path).ok_or_else(|| {
            anyhow!("{file}: [names] `{path}` is not a file of templates/{template}/")
        })?;
        std::str::from_utf8(bytes)
            .map_err(|_| anyhow!("templates/{template}/{path}: not UTF-8 text"))
    };
    let own = PaxxTomlMut::parse(text_of(paxx_toml::FILE)?)
        .and_then(|doc| doc.state())
        .with_context(|| format!("templates/{template}/{}", paxx_toml::FILE))?
        .name;
    for (path, patterns) in &manifest.names {
        check_relative(path).with_context(|| format!("{file}: [names]"))?;
        let text = text_of(path)?;
        for pattern in patterns {
            if !pattern.contains(PLACEHOLDER) || pattern.contains('\n') {
                bail!(
                    "{file}: [names].\"{path}\": `{pattern}` must be one whole line with \
                     `{PLACEHOLDER}` where the name goes"
                );
            }
            if !name_lines::shows(text, pattern, &own) {
                bail!(
                    "{file}: [names].\"{path}\": templates/{template}/{path} has no line `{}` \
                     (the template's own name is `{own}`, from its {}); make the line and \
                     the manifest agree",
                    name_lines::fill(pattern, &own),
                    paxx_toml::FILE
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(names: &str, readme: &str) -> Result<()> {
        let manifest: TemplateManifest = toml::from_str(&format!(
            "[template]\nname = \"t\"\nsummary = \"s\"\nregistry = \"r.py\"\n\
             registry-template = \"t.j2\"\n[names]\n{names}\n"
        ))
        .unwrap();
        let tree: FileSet = [
            (
                "paxx.toml",
                "[project]\nname = \"app\"\ntemplate = \"t\"\npaxx-version = \"0.1.0\"\n",
            ),
            ("README.md", readme),
        ]
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
        check("templates/t.toml", &manifest, &tree)
    }

    #[test]
    fn listed_lines_must_show_the_templates_own_name() {
        checked("\"README.md\" = [\"# {name}\"]", "# app\n").unwrap();
        let err = checked("\"README.md\" = [\"# {name}\"]", "# The App\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "templates/t.toml: [names].\"README.md\": templates/t/README.md has no line \
             `# app` (the template's own name is `app`, from its paxx.toml); make the line \
             and the manifest agree"
        );
    }

    #[test]
    fn a_pattern_without_the_placeholder_or_file_is_refused() {
        let err = checked("\"README.md\" = [\"# app\"]", "# app\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("must be one whole line with `{name}`"),
            "{err}"
        );
        let err = checked("\"NOTES.md\" = [\"# {name}\"]", "# app\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "templates/t.toml: [names] `NOTES.md` is not a file of templates/t/"
        );
    }
}
