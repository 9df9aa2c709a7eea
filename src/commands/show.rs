//! `show <NAME>`: everything a module brings.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ShowArgs;
use crate::project;

pub fn run(args: ShowArgs) -> Result<ExitCode> {
    let catalog = project::load_catalog()?;
    let module = catalog.module(&args.name)?;
    let m = &module.manifest;
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    println!(
        "{} (version {}): {}",
        m.module.name, m.module.version, m.module.summary
    );
    println!("templates:    {}", list(&m.module.templates));
    println!("requires:     {}", list(&m.module.requires));
    println!("conflicts:    {}", list(&m.module.conflicts));
    println!("dependencies: {}", list(&m.python.dependencies));
    println!("dev deps:     {}", list(&m.python.dev_dependencies));
    println!("nix packages: {}", list(&m.nix.packages));
    println!("files:");
    for path in module.files.keys() {
        println!("  {path}");
    }
    if !m.services.is_empty() {
        println!("services:");
        for s in &m.services {
            let port = s.port.map(|p| format!(" (port {p})")).unwrap_or_default();
            println!(
                "  {}{port}: {}",
                s.name,
                crate::services::shell_words(&s.command)
            );
        }
    }
    if !m.env.is_empty() {
        println!("env:");
        for (k, v) in &m.env {
            println!("  {k}={v}");
        }
    }
    if module.origin != "embedded" {
        println!("from:         {}", module.origin);
    }
    Ok(ExitCode::SUCCESS)
}
