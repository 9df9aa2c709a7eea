//! `doctor`: what this machine lacks for this project, and how to get each piece under
//! Nix and under Debian. Exits non-zero when something the project needs is missing.

use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde::Serialize;

use crate::plan::Project;
use crate::printer::{self, out, ExitStatus};
use crate::project;
use crate::services::{self, account, binary, ready, Loaded};

mod lock;
mod python;

#[derive(Debug, Serialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    /// Something the project needs; makes the exit code non-zero.
    Missing,
    Warning,
    Info,
}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    status: Level,
    detail: String,
    /// How to get what is missing: one line for Nix, one for Debian.
    fix: Vec<String>,
}

#[derive(Default)]
struct Report(Vec<Check>);

impl Report {
    fn add(&mut self, check: &str, status: Level, detail: String, fix: Vec<String>) {
        self.0.push(Check {
            check: check.to_string(),
            status,
            detail,
            fix,
        });
    }
}

pub fn run(cwd: &Path, json: bool) -> Result<ExitStatus> {
    let loaded = services::load(cwd)?;
    let mut report = Report::default();
    check_python(&loaded, &mut report);
    check_services(&loaded, &mut report)?;
    check_files(&loaded, &mut report)?;
    lock::check(&loaded.root, &mut report);
    check_nix(&mut report);

    let problems = report
        .0
        .iter()
        .filter(|c| c.status == Level::Missing)
        .count();
    if json {
        let json = serde_json::json!({ "ok": problems == 0, "checks": report.0 });
        printer::json(&json)?;
    } else {
        for c in &report.0 {
            let level = format!("{:?}", c.status).to_lowercase();
            let detail = c.detail.replace('\n', &format!("\n{:<9}", ""));
            out!("{level:<8} {}: {detail}", c.check);
            for fix in &c.fix {
                out!("{:<8}   {fix}", "");
            }
        }
        match problems {
            0 => out!("\nthis machine has what the project needs"),
            n => out!("\n{n} missing: see above"),
        }
    }
    Ok(if problems == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The first line `program args` prints, when it runs.
fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?.trim().to_string();
    (out.status.success() && !line.is_empty()).then_some(line)
}

fn check_python(loaded: &Loaded, report: &mut Report) {
    let nix_python = loaded
        .catalog
        .templates
        .get(&loaded.state.template)
        .and_then(|t| {
            t.manifest
                .nix
                .packages
                .iter()
                .find(|p| p.starts_with("python"))
                .cloned()
        })
        .unwrap_or_else(|| "python3".into());
    match version_of("uv", &["--version"]) {
        Some(v) => report.add("uv", Level::Ok, v, vec![]),
        None => report.add(
            "uv",
            Level::Missing,
            "`uv` not found on PATH".into(),
            vec![
                "in Nix it comes with `nix develop` (nixpkgs `uv`)".into(),
                "on Debian: `apt-get install pipx && pipx install uv`".into(),
            ],
        ),
    }
    let requires = loaded
        .catalog
        .templates
        .get(&loaded.state.template)
        .and_then(|t| t.manifest.python.requires_python.clone());
    let fix = vec![
        format!("in Nix it comes with `nix develop` (nixpkgs `{nix_python}`)"),
        "on Debian: `apt-get install python3` (or let uv find another: `uv python list`)".into(),
    ];
    let script = "import sys; print('%d.%d.%d' % sys.version_info[:3])";
    let Some(version) = version_of("python3", &["-c", script]) else {
        report.add(
            "python3",
            Level::Missing,
            "`python3` not found on PATH".into(),
            fix,
        );
        return;
    };
    let Some(spec) = requires else {
        report.add("python3", Level::Ok, version, vec![]);
        return;
    };
    match python::satisfies(&version, &spec) {
        Some(true) => report.add(
            "python3",
            Level::Ok,
            format!("{version} (the project requires {spec})"),
            vec![],
        ),
        None => report.add(
            "python3",
            Level::Warning,
            format!("{version}; cannot tell whether it meets `requires-python = \"{spec}\"`"),
            vec![],
        ),
        Some(false) => match version_of("uv", &["python", "find", &spec]) {
            Some(other) => report.add(
                "python3",
                Level::Ok,
                format!("python3 is {version}, but uv finds `{other}` for {spec}"),
                vec![],
            ),
            None => report.add(
                "python3",
                Level::Missing,
                format!("{version} does not meet the project's `requires-python = \"{spec}\"`"),
                fix,
            ),
        },
    }
}

fn check_services(loaded: &Loaded, report: &mut Report) -> Result<()> {
    let layout = loaded.layout();
    for service in &loaded.resolved.services {
        let name = &service.name;
        let account = match account::for_service(service) {
            Ok(Some(a)) => {
                report.add(
                    &format!("{name}: runs as"),
                    Level::Ok,
                    format!("`{}` (it refuses root)", a.name),
                    vec![],
                );
                Some(a)
            }
            Ok(None) => None,
            Err(err) => {
                let detail = format!("{err:#}");
                report.add(&format!("{name}: runs as"), Level::Missing, detail, vec![]);
                None
            }
        };
        for program in binary::programs(service) {
            let check = format!("{name}: {program}");
            match binary::find_for(&program, &loaded.root, account.as_ref()) {
                Ok(found) if found.on_path => {
                    report.add(&check, Level::Ok, found.path.display().to_string(), vec![]);
                }
                Ok(found) => report.add(
                    &check,
                    Level::Ok,
                    format!(
                        "{} (not on PATH; `paxx-compose up` also looks in {})",
                        found.path.display(),
                        binary::FALLBACK
                    ),
                    vec![],
                ),
                Err(refused) => {
                    let detail = match (&refused, &account) {
                        (Some(path), Some(a)) => binary::not_runnable(path, service, a),
                        _ => binary::missing(&program, service),
                    };
                    report.add(&check, Level::Missing, detail, binary::how_to_get(service));
                }
            }
        }
        if let Some(port) = service.port {
            let runtime = services::stop::runtime(&layout, &loaded.root, service)?;
            let check = format!("{name}: port {port}");
            if let Some(pid) = runtime.pid {
                report.add(
                    &check,
                    Level::Ok,
                    format!("{name} is running on it (pid {pid})"),
                    vec![],
                );
            } else if ready::port_in_use(port) {
                let other = services::supervisor::free_port_near(port);
                report.add(
                    &check,
                    Level::Missing,
                    "in use by another program".into(),
                    vec![format!(
                        "stop that program, or give `{name}` another port in paxx.toml: \
                         `[ports]` `{name} = {other}`"
                    )],
                );
            } else {
                report.add(&check, Level::Ok, "free".into(), vec![]);
            }
        }
    }
    Ok(())
}

fn check_files(loaded: &Loaded, report: &mut Report) -> Result<()> {
    let files = crate::project::disk(&loaded.root);
    let project = Project::load(&files)?;
    let Some(drift) = project::drift(&loaded.catalog, &project)? else {
        report.add(
            "files",
            Level::Info,
            format!(
                "generated files not compared: this paxx-compose has no catalog of paxx {}",
                project.state.paxx_version
            ),
            vec![],
        );
        return Ok(());
    };
    let (modified, missing) = (drift.modified, drift.missing);
    if !modified.is_empty() {
        report.add(
            "files",
            Level::Info,
            format!(
                "{} generated file(s) changed by you (paxx keeps your changes): {}",
                modified.len(),
                modified.join(", ")
            ),
            vec![],
        );
    }
    for path in &missing {
        report.add(
            "files",
            Level::Warning,
            format!("`{path}` was generated by paxx and is gone"),
            vec!["restore it (`git checkout -- <file>`), or remove its feature with `paxx-compose remove`".into()],
        );
    }
    for name in &loaded.enabled {
        let (Some(have), Some(module)) = (
            loaded.state.modules.get(name),
            loaded.catalog.modules.get(name),
        ) else {
            continue;
        };
        if module.manifest.module.version > *have {
            report.add(
                "files",
                Level::Info,
                format!(
                    "feature `{name}` was generated from module version {have}; this \
                     paxx-compose has version {}",
                    module.manifest.module.version
                ),
                vec![],
            );
        }
    }
    if modified.is_empty() && missing.is_empty() {
        report.add(
            "files",
            Level::Ok,
            "paxx.toml matches the generated files".into(),
            vec![],
        );
    }
    Ok(())
}

fn check_nix(report: &mut Report) {
    match version_of("nix", &["--version"]) {
        Some(v) => report.add(
            "nix",
            Level::Info,
            format!("{v}; `nix develop` puts every tool above on PATH"),
            vec![],
        ),
        None => report.add(
            "nix",
            Level::Info,
            "not installed (optional: without it, the tools above come from Debian)".into(),
            vec![],
        ),
    }
}
