//! Rendering module files and the registry with minijinja.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use minijinja::{context, Environment, UndefinedBehavior};

use crate::catalog::{Catalog, Module, Template};

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    // A typo in a template must fail loudly, not render an empty string into user code.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

fn render_text(name: &str, source: &str, project: &str, features: &[String]) -> Result<String> {
    let mut env = environment();
    // `has("redis")` is `"redis" in features` (docs/formats.md).
    let enabled = features.to_vec();
    env.add_function("has", move |name: &str| enabled.iter().any(|f| f == name));
    let template = env
        .template_from_named_str(name, source)
        .with_context(|| format!("cannot parse template `{name}`"))?;
    template
        .render(context! { project => context! { name => project }, features => features })
        .with_context(|| format!("cannot render template `{name}`"))
}

/// The files `module` brings to a project named `project` with `features` enabled.
pub fn module_files(
    module: &Module,
    project: &str,
    features: &[String],
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for (path, file) in &module.files {
        let bytes = if file.render {
            let source = std::str::from_utf8(&file.content).expect("checked at catalog load");
            let label = format!("modules/{}/files/{path}.j2", module.manifest.module.name);
            let text = render_text(&label, source, project, features)?;
            // A template that renders to nothing is a file that exists only for some
            // feature sets (`{% if "redis" in features %}…{% endif %}` around all of it).
            if text.trim().is_empty() {
                continue;
            }
            text.into_bytes()
        } else {
            file.content.clone()
        };
        out.insert(path.clone(), bytes);
    }
    Ok(out)
}

pub fn registry(template: &Template, project: &str, features: &[String]) -> Result<Vec<u8>> {
    let label = format!("templates/{}", template.manifest.template.registry_template);
    Ok(render_text(&label, &template.registry_template, project, features)?.into_bytes())
}

/// Every file paxx generates for `features` (module files and the registry).
pub fn generated_files(
    catalog: &Catalog,
    template: &Template,
    project: &str,
    features: &[String],
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for name in features {
        out.extend(module_files(catalog.module(name)?, project, features)?);
    }
    out.insert(
        template.manifest.template.registry.clone(),
        registry(template, project, features)?,
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, features: &[&str]) -> Result<String> {
        let features: Vec<String> = features.iter().map(|f| f.to_string()).collect();
        render_text("t.j2", source, "shop", &features)
    }

    #[test]
    fn has_tells_whether_a_feature_is_enabled() {
        let source = "{{ project.name }}:{% if has(\"redis\") %} redis{% endif %}\
                      {% if has(\"email\") %} email{% endif %}";
        assert_eq!(
            render(source, &["email", "redis"]).unwrap(),
            "shop: redis email"
        );
        assert_eq!(render(source, &["email"]).unwrap(), "shop: email");
        assert_eq!(render(source, &[]).unwrap(), "shop:");
        // The same as `in features`, which templates also use.
        assert_eq!(
            render(
                "{{ has(\"redis\") == (\"redis\" in features) }}",
                &["redis"]
            )
            .unwrap(),
            "True"
        );
    }

    #[test]
    fn an_unknown_name_still_fails_loudly() {
        let err = render("{{ hass(\"redis\") }}", &["redis"]).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot render template `t.j2`"),
            "{err:#}"
        );
        assert!(render("{{ has() }}", &[]).is_err());
    }
}
