//! `show <NAME>`: everything a module brings.

use anyhow::Result;

use crate::printer::{out, ExitStatus};
use crate::project;

pub fn run(name: &str) -> Result<ExitStatus> {
    let catalog = project::load_catalog()?;
    let module = catalog.module(name)?;
    let m = &module.manifest;
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    out!(
        "{} (version {}): {}",
        m.module.name,
        m.module.version,
        m.module.summary
    );
    out!("templates:    {}", list(&m.module.templates));
    out!("requires:     {}", list(&m.module.requires));
    out!("conflicts:    {}", list(&m.module.conflicts));
    out!("dependencies: {}", list(&m.python.dependencies));
    out!("dev deps:     {}", list(&m.python.dev_dependencies));
    out!("nix packages: {}", list(&m.nix.packages));
    out!("files:");
    for path in module.files.keys() {
        out!("  {path}");
    }
    if !m.services.is_empty() {
        out!("services:");
        for s in &m.services {
            let port = s.port.map(|p| format!(" (port {p})")).unwrap_or_default();
            out!(
                "  {}{port}: {}",
                s.name,
                crate::services::shell_words(&s.command)
            );
        }
    }
    if !m.env.is_empty() {
        out!("env:");
        for (k, v) in &m.env {
            out!("  {k}={v}");
        }
    }
    if module.origin != "embedded" {
        out!("from:         {}", module.origin);
    }
    Ok(ExitStatus::Success)
}
