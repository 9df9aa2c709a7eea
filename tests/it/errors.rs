//! Bad input: one clear message on stderr, a non-zero exit, nothing written.

use std::fs;

use crate::common::*;

fn project(ws: &Workspace) -> std::path::PathBuf {
    ws.run(&["new", "app"]).ok();
    ws.project("app")
}

/// Runs `args`, expects failure with nothing changed, returns stderr.
fn refused(ws: &Workspace, dir: &std::path::Path, args: &[&str]) -> String {
    let before = tree(dir);
    let run = ws.run_in(dir, args);
    run.failed();
    assert_eq!(run.stdout, "", "errors go to stderr");
    assert_eq!(differences(&before, &tree(dir)), Vec::<String>::new());
    assert_eq!(
        run.stderr.matches("error:").count(),
        1,
        "one error: {}",
        run.stderr
    );
    run.stderr
}

#[test]
fn outside_a_project() {
    let ws = Workspace::new();
    insta::assert_snapshot!(refused(&ws, ws.path(), &["add", "cache"]));
}

#[test]
fn unknown_feature_suggests_the_closest() {
    let ws = Workspace::new();
    let dir = project(&ws);
    insta::assert_snapshot!(refused(&ws, &dir, &["add", "feature", "cahce"]));
}

#[test]
fn unknown_template() {
    let ws = Workspace::new();
    insta::assert_snapshot!(refused(
        &ws,
        ws.path(),
        &["new", "x", "--template", "fastap"]
    ));
    assert!(!ws.project("x").exists());
}

#[test]
fn conflicting_features() {
    let ws = Workspace::new();
    let dir = project(&ws);
    ws.run_in(&dir, &["add", "mail"]).ok();
    insta::assert_snapshot!(refused(&ws, &dir, &["add", "sms"]));
}

#[test]
fn broken_paxx_toml_names_line_and_column() {
    let ws = Workspace::new();
    let dir = project(&ws);
    let text = fs::read_to_string(dir.join("paxx.toml")).unwrap();
    fs::write(
        dir.join("paxx.toml"),
        text.replace("features = []", "features = [\"cache\""),
    )
    .unwrap();
    let err = refused(&ws, &dir, &["add", "cache"]);
    assert!(
        err.contains("paxx.toml:7:1:") || err.contains("paxx.toml:6:"),
        "{err}"
    );
    fs::write(
        dir.join("paxx.toml"),
        text.replace("features = []", "features = \"cache\""),
    )
    .unwrap();
    insta::assert_snapshot!(refused(&ws, &dir, &["add", "cache"]));
}

#[test]
fn broken_pyproject_names_line_and_column() {
    let ws = Workspace::new();
    let dir = project(&ws);
    let text = fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    fs::write(
        dir.join("pyproject.toml"),
        text.replacen("[project]", "[project", 1),
    )
    .unwrap();
    let err = refused(&ws, &dir, &["add", "cache"]);
    assert!(err.starts_with("error: pyproject.toml:"), "{err}");
    let line_col: Vec<&str> = err
        .trim_start_matches("error: pyproject.toml:")
        .splitn(3, ':')
        .collect();
    assert!(
        line_col[0].parse::<u32>().is_ok() && line_col[1].parse::<u32>().is_ok(),
        "{err}"
    );
}

#[test]
fn new_into_a_folder_that_is_not_empty() {
    let ws = Workspace::new();
    fs::create_dir(ws.project("x")).unwrap();
    fs::write(ws.project("x/keep.txt"), "mine").unwrap();
    insta::assert_snapshot!(refused(&ws, ws.path(), &["new", "x"]));
}

#[test]
fn invalid_project_name() {
    let ws = Workspace::new();
    insta::assert_snapshot!(refused(&ws, ws.path(), &["new", "x", "--name", "my app!"]));
}

#[test]
fn init_refuses_an_invalid_name_and_writes_nothing() {
    let ws = Workspace::new();
    let dir = project(&ws);
    let err = refused(&ws, &dir, &["init", "--name", "shop."]);
    assert!(err.contains("`shop.` is not a valid project name"), "{err}");
    fs::rename(&dir, ws.project("my shop")).unwrap();
    let err = refused(&ws, &ws.project("my shop"), &["init"]);
    assert!(err.contains("pass --name"), "{err}");
}

#[test]
fn remove_feature_that_is_not_enabled_changes_nothing() {
    let ws = Workspace::new();
    let dir = project(&ws);
    let before = tree(&dir);
    let run = ws.run_in(&dir, &["remove", "cache"]);
    run.ok();
    assert!(
        run.stderr.contains("cache is not enabled"),
        "{}",
        run.stderr
    );
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
}

fn broken_catalog(case: &str, module: &str, manifest: &str, extra: &[(&str, &str)]) -> Workspace {
    let mut ws = Workspace::new();
    let modules = ws.path().join(format!("modules-{case}"));
    fs::create_dir_all(modules.join(module)).unwrap();
    fs::write(modules.join(module).join("module.toml"), manifest).unwrap();
    for (path, content) in extra {
        let p = modules.join(module).join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    ws.modules = Some(modules);
    ws
}

#[test]
fn catalog_rejects_a_malformed_manifest_naming_module_and_field() {
    let ws = broken_catalog(
        "malformed",
        "bad",
        "[module]\nname = \"bad\"\ntemplates = [\"fastapi\"]\n",
        &[],
    );
    let err = ws.run(&["list"]).failed().stderr.clone();
    assert!(
        err.contains("modules/bad/module.toml") && err.contains("missing field `summary`"),
        "{err}"
    );
    let ws = broken_catalog(
        "typo",
        "bad",
        "[module]\nname = \"bad\"\nsumary = \"x\"\nsummary = \"x\"\ntemplates = [\"fastapi\"]\n",
        &[],
    );
    let err = ws.run(&["list"]).failed().stderr.clone();
    assert!(
        err.contains("modules/bad/module.toml:3:1") && err.contains("sumary"),
        "{err}"
    );
}

#[test]
fn catalog_rejects_files_outside_the_project() {
    let manifest = "[module]\nname = \"bad\"\nsummary = \"x\"\ntemplates = [\"fastapi\"]\n[files]\n\"../escape.py\" = \"src.py\"\n";
    let ws = broken_catalog("dotdot", "bad", manifest, &[("src.py", "x = 1\n")]);
    let err = ws.run(&["list"]).failed().stderr.clone();
    assert!(
        err.contains("modules/bad/module.toml: [files] target")
            && err.contains("leaves the project"),
        "{err}"
    );
    let manifest = manifest.replace("../escape.py", "/etc/escape.py");
    let ws = broken_catalog("absolute", "bad", &manifest, &[("src.py", "x = 1\n")]);
    let err = ws.run(&["list"]).failed().stderr.clone();
    assert!(err.contains("is absolute"), "{err}");
}

#[cfg(unix)]
#[test]
fn catalog_rejects_symbolic_links_out_of_a_module() {
    let ws = broken_catalog(
        "symlink",
        "bad",
        "[module]\nname = \"bad\"\nsummary = \"x\"\ntemplates = [\"fastapi\"]\n",
        &[],
    );
    let files = ws.modules.as_ref().unwrap().join("bad/files");
    fs::create_dir_all(&files).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", files.join("passwd")).unwrap();
    let err = ws.run(&["list"]).failed().stderr.clone();
    assert!(err.contains("is a symbolic link"), "{err}");
}

#[test]
fn catalog_rejects_an_unknown_requirement() {
    let ws = broken_catalog("requires", "bad", "[module]\nname = \"bad\"\nsummary = \"x\"\ntemplates = [\"fastapi\"]\nrequires = [\"cahce\"]\n", &[]);
    insta::assert_snapshot!(ws.run(&["list"]).failed().stderr);
}

#[test]
fn catalog_rejects_a_module_name_python_cannot_import() {
    let ws = broken_catalog(
        "identifier",
        "my-feature",
        "[module]\nname = \"my-feature\"\nsummary = \"x\"\ntemplates = [\"fastapi\"]\n",
        &[],
    );
    insta::assert_snapshot!(ws.run(&["list"]).failed().stderr);
}
