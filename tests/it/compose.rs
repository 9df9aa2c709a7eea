//! The composing commands (`new`, `init`, `add`, `remove`) on real folders.

use std::fs;

use crate::common::*;

#[test]
fn new_without_features_is_the_template_byte_for_byte() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let project = tree_without_env(&ws.project("app"));
    assert_eq!(
        differences(&project, &tree(&template_dir("fastapi"))),
        Vec::<String>::new()
    );
    env_key(&ws.project("app"));
}

#[test]
fn new_applies_the_name_wherever_the_template_shows_it() {
    let ws = Workspace::new();
    ws.run(&["new", "shop"]).ok();
    let project = tree_without_env(&ws.project("shop"));
    let template = tree(&template_dir("fastapi"));
    assert_eq!(
        differences(&project, &template),
        vec![
            ".env.example",
            "README.md",
            "app/core/config.py",
            "paxx.toml",
            "pyproject.toml"
        ]
    );
    insta::assert_snapshot!(tree_diff(&template, &project));
    let status = ws.run_in(&ws.project("shop"), &["status"]);
    assert!(
        status
            .ok()
            .stdout
            .contains("generated files: as paxx wrote them"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_name_that_is_no_python_identifier_is_shown_as_it_is() {
    let ws = Workspace::new();
    ws.run(&["new", "dir", "--name", "my-shop.api"]).ok();
    let read = |path: &str| fs::read_to_string(ws.project("dir").join(path)).unwrap();
    assert!(read("README.md").starts_with("# my-shop.api\n"));
    assert!(read("app/core/config.py").contains("    PROJECT_NAME: str = \"my-shop.api\"\n"));
    assert!(read(".env.example").contains("\nPROJECT_NAME=my-shop.api\n"));
    assert!(read("pyproject.toml").starts_with("[project]\nname = \"my-shop.api\"\n"));
    // The package keeps its name: imports never depend on the project's.
    assert!(ws.project("dir/app/main.py").is_file());
}

/// What `nix flake init -t` leaves: the template's files, copied as they are.
fn copy_template(dir: &std::path::Path) {
    fs::create_dir(dir).unwrap();
    for (path, bytes) in tree(&template_dir("fastapi")) {
        let target = dir.join(&path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, bytes).unwrap();
    }
}

#[test]
fn init_on_a_copied_template_equals_new() {
    let ws = Workspace::new();
    ws.run(&["new", "made", "--name", "my-shop"]).ok();
    let copied = ws.project("copied");
    copy_template(&copied);
    ws.run_in(&copied, &["init", "--name", "my-shop"]).ok();
    assert_eq!(
        differences(
            &tree_without_env(&ws.project("made")),
            &tree_without_env(&copied)
        ),
        Vec::<String>::new()
    );
    // Named again: as if it had been made with the second name.
    ws.run_in(&copied, &["init", "--name", "shop"]).ok();
    ws.run(&["new", "again", "--name", "shop"]).ok();
    assert_eq!(
        differences(
            &tree_without_env(&ws.project("again")),
            &tree_without_env(&copied)
        ),
        Vec::<String>::new()
    );
}

#[test]
fn init_leaves_a_line_the_user_changed_and_says_so() {
    let ws = Workspace::new();
    let copied = ws.project("copied");
    copy_template(&copied);
    let readme = copied.join("README.md");
    let text = fs::read_to_string(&readme).unwrap();
    let mine = text.replacen("# app\n", "# The Shop\n", 1);
    fs::write(&readme, &mine).unwrap();
    let run = ws.run_in(&copied, &["init", "--name", "shop"]);
    run.ok();
    assert!(
        run.stderr
            .contains("README.md: no line `# app` (changed?); write the name there yourself"),
        "{}",
        run.stderr
    );
    let now = fs::read_to_string(&readme).unwrap();
    assert!(now.starts_with("# The Shop\n"), "{now}");
    assert!(
        now.contains("| `PROJECT_NAME` | `shop` |"),
        "the other line is named"
    );
}

#[test]
fn new_with_features_adds_their_files_and_edits() {
    let ws = Workspace::new();
    let run = ws.run(&["new", "shop", "--feature", "jobs"]);
    run.ok();
    assert!(
        run.stderr.contains("jobs needs cache: adding it"),
        "{}",
        run.stderr
    );
    ws.run(&["new", "bare", "--name", "shop"]).ok();
    let diff = tree_diff(
        &tree_without_env(&ws.project("bare")),
        &tree_without_env(&ws.project("shop")),
    );
    insta::assert_snapshot!(redact_hashes(&diff));
}

#[test]
fn init_then_add_equals_new_with_features() {
    let ws = Workspace::new();
    ws.run(&["new", "made", "--name", "shop", "--feature", "cache,mail"])
        .ok();
    let copied = ws.project("copied");
    copy_template(&copied);
    ws.run_in(&copied, &["init", "--name", "shop"]).ok();
    ws.run_in(&copied, &["add", "feature", "cache", "mail"])
        .ok();
    assert_eq!(
        differences(
            &tree_without_env(&ws.project("made")),
            &tree_without_env(&copied)
        ),
        Vec::<String>::new()
    );
    // Each has a development key of its own.
    assert_ne!(env_key(&ws.project("made")), env_key(&copied));
}

#[test]
fn every_project_gets_its_own_development_key_in_a_git_ignored_env() {
    let ws = Workspace::new();
    ws.run(&["new", "one"]).ok();
    ws.run(&["new", "two"]).ok();
    let (one, two) = (env_key(&ws.project("one")), env_key(&ws.project("two")));
    assert_ne!(one, two);
    // Not a file paxx tracks (no hash of it in paxx.toml), and the key is nowhere else.
    for (path, bytes) in tree_without_env(&ws.project("one")) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&one),
            "the key is in {path}"
        );
    }
    let toml = fs::read_to_string(ws.project("one/paxx.toml")).unwrap();
    assert!(!toml.contains("\".env\""), "{toml}");
    // The template's .gitignore keeps it out of git.
    let dir = ws.project("one");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("git runs")
    };
    assert!(git(&["init", "-q"]).status.success());
    let ignored = git(&["check-ignore", "-q", ".env"]);
    assert!(ignored.status.success(), "git does not ignore .env");
}

#[test]
fn init_writes_a_key_only_where_there_is_no_env() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    fs::remove_file(dir.join(".env")).unwrap();
    let dry = ws.run_in(&dir, &["init", "--dry-run"]);
    dry.ok();
    assert!(dry.stderr.contains("would write `.env`"), "{}", dry.stderr);
    assert!(!dir.join(".env").exists());

    let run = ws.run_in(&dir, &["init"]);
    run.ok();
    assert!(run.stderr.contains("wrote `.env`"), "{}", run.stderr);
    let first = env_key(&dir);
    // A second init, and a user's own .env, are left alone byte for byte.
    ws.run_in(&dir, &["init"]).ok();
    assert_eq!(env_key(&dir), first);
    fs::write(dir.join(".env"), "SECRET_KEY=mine\nDEBUG=1\n").unwrap();
    let again = ws.run_in(&dir, &["init", "--name", "shop"]);
    again.ok();
    // (`.env.example` is named in the output: the name is written there.)
    assert!(!again.stderr.contains("`.env`"), "{}", again.stderr);
    assert_eq!(
        fs::read_to_string(dir.join(".env")).unwrap(),
        "SECRET_KEY=mine\nDEBUG=1\n"
    );
    // add and remove never touch it either.
    ws.run_in(&dir, &["add", "feature", "cache"]).ok();
    ws.run_in(&dir, &["remove", "feature", "cache"]).ok();
    assert_eq!(
        fs::read_to_string(dir.join(".env")).unwrap(),
        "SECRET_KEY=mine\nDEBUG=1\n"
    );
}

#[test]
fn new_makes_missing_parent_folders() {
    let ws = Workspace::new();
    ws.run(&["new", "work/clients/shop"]).ok();
    let toml = fs::read_to_string(ws.project("work/clients/shop/paxx.toml")).unwrap();
    assert!(toml.contains("name = \"shop\""), "{toml}");
}

#[test]
fn init_takes_the_folder_name_by_default() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    fs::rename(ws.project("app"), ws.project("billing")).unwrap();
    ws.run_in(&ws.project("billing"), &["init"]).ok();
    let toml = fs::read_to_string(ws.project("billing/paxx.toml")).unwrap();
    assert!(toml.contains("name = \"billing\""), "{toml}");
}

/// `nix build` needs uv.lock, tracked by git: `new` and `init` say how to get there.
#[test]
fn new_and_init_say_what_nix_build_needs() {
    let ws = Workspace::new();
    let new = ws.run(&["new", "app"]);
    new.ok();
    assert!(
        new.stderr
            .contains("git init && git add -A, then uv lock && git add uv.lock"),
        "{}",
        new.stderr
    );
    let init = ws.run_in(&ws.project("app"), &["init", "--name", "billing"]);
    init.ok();
    assert!(
        init.stderr
            .contains("before `nix build`: uv lock && git add uv.lock"),
        "{}",
        init.stderr
    );
}

#[test]
fn adding_twice_changes_nothing_the_second_time() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    ws.run_in(&dir, &["add", "feature", "cache"]).ok();
    let once = tree(&dir);
    let again = ws.run_in(&dir, &["add", "cache"]);
    again.ok();
    assert!(
        again.stderr.contains("cache is already enabled"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("nothing to change"),
        "{}",
        again.stderr
    );
    assert_eq!(differences(&once, &tree(&dir)), Vec::<String>::new());
}

#[test]
fn add_then_remove_restores_the_tree_for_every_module() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    let bare = tree(&dir);
    let bare_folders = folders(&dir);
    let list = ws.run_in(&dir, &["list", "--json"]);
    list.ok();
    let modules: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    let names: Vec<&str> = modules
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.len() >= 4,
        "the catalog should hold the fixtures and the real modules: {names:?}"
    );
    for name in names {
        ws.run_in(&dir, &["add", "feature", name]).ok();
        assert_ne!(
            differences(&bare, &tree(&dir)),
            Vec::<String>::new(),
            "{name} changed nothing"
        );
        ws.run_in(&dir, &["remove", "feature", name]).ok();
        assert_eq!(
            differences(&bare, &tree(&dir)),
            Vec::<String>::new(),
            "after add/remove {name}"
        );
        assert_eq!(folders(&dir), bare_folders, "folders left behind by {name}");
    }
}

#[test]
fn removing_a_feature_takes_out_what_it_pulled_in() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    let bare = tree(&dir);
    ws.run_in(&dir, &["add", "jobs"]).ok();
    let refused = ws.run_in(&dir, &["remove", "cache"]);
    refused.failed();
    assert!(
        refused.stderr.contains("cache is required by jobs"),
        "{}",
        refused.stderr
    );
    ws.run_in(&dir, &["rm", "jobs"]).ok();
    assert_eq!(differences(&bare, &tree(&dir)), Vec::<String>::new());
    // Together with the one that requires it, in either order; and added so too.
    let mut added = Vec::new();
    for both in [["cache", "jobs"], ["jobs", "cache"]] {
        ws.run_in(&dir, &["add", "jobs"]).ok();
        ws.run_in(&dir, &["remove", "feature", both[0], both[1]])
            .ok();
        assert_eq!(differences(&bare, &tree(&dir)), Vec::<String>::new());
        ws.run_in(&dir, &["add", "feature", both[0], both[1]]).ok();
        added.push(tree(&dir));
        ws.run_in(&dir, &["rm", both[1], both[0]]).ok();
        assert_eq!(differences(&bare, &tree(&dir)), Vec::<String>::new());
    }
    assert_eq!(differences(&added[0], &added[1]), Vec::<String>::new());
}

#[test]
fn a_feature_asked_for_stays_when_the_one_needing_it_goes() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    ws.run_in(&dir, &["add", "cache"]).ok();
    ws.run_in(&dir, &["add", "jobs"]).ok();
    ws.run_in(&dir, &["remove", "jobs"]).ok();
    assert!(dir.join("app/features/cache.py").exists());
    assert!(!dir.join("app/features/jobs.py").exists());
}

#[test]
fn a_template_that_renders_empty_is_no_file() {
    let ws = Workspace::new();
    ws.run(&["new", "app", "--feature", "cache"]).ok();
    let dir = ws.project("app");
    let conditional = dir.join("app/features/cache_jobs.py");
    assert!(
        !conditional.exists(),
        "rendered empty without jobs, so not created"
    );
    ws.run_in(&dir, &["add", "jobs"]).ok();
    assert!(fs::read_to_string(&conditional)
        .unwrap()
        .contains("WORKER_CACHE_DB = 1"));
    ws.run_in(&dir, &["remove", "jobs"]).ok();
    assert!(!conditional.exists());
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    let before = tree(&dir);
    let run = ws.run_in(&dir, &["add", "cache", "--dry-run"]);
    run.ok();
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
    assert!(
        run.stdout
            .contains("--- /dev/null\n+++ b/app/features/cache.py"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+    \"redis>=5.0\","),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);

    let new_dry = ws.run(&["new", "other", "--dry-run"]);
    new_dry.ok();
    assert!(!ws.project("other").exists());
}

#[test]
fn a_generated_file_the_user_changed_is_not_overwritten() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    ws.run_in(&dir, &["add", "cache"]).ok();
    // cache.py renders differently once jobs is enabled, so adding jobs would rewrite it.
    fs::write(dir.join("app/features/cache.py"), "# mine\n").unwrap();
    let before = tree(&dir);
    let run = ws.run_in(&dir, &["add", "jobs"]);
    run.failed();
    insta::assert_snapshot!(run.transcript());
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());

    let status = ws.run_in(&dir, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        status["modified"],
        serde_json::json!(["app/features/cache.py"])
    );

    ws.run_in(&dir, &["add", "jobs", "--force"]).ok();
    assert!(fs::read_to_string(dir.join("app/features/cache.py"))
        .unwrap()
        .contains("SHARED_WITH_WORKER = True"));
}

#[test]
fn removing_a_feature_whose_file_the_user_changed_is_refused() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    ws.run_in(&dir, &["add", "sms"]).ok();
    fs::write(dir.join("app/features/sms.py"), "SENDER = 'mine'\n").unwrap();
    let run = ws.run_in(&dir, &["remove", "sms"]);
    run.failed();
    assert!(
        run.stderr
            .contains("app/features/sms.py: changed since paxx wrote it; paxx would delete it"),
        "{}",
        run.stderr
    );
    assert!(dir.join("app/features/sms.py").exists());
}

#[test]
fn a_file_of_the_users_in_a_features_way_is_not_overwritten() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    fs::write(dir.join("app/features/sms.py"), "# the user's own\n").unwrap();
    let run = ws.run_in(&dir, &["add", "sms"]);
    run.failed();
    assert!(
        run.stderr
            .contains("app/features/sms.py: exists, and paxx did not write it"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.join("app/features/sms.py")).unwrap(),
        "# the user's own\n"
    );
}

#[test]
fn a_generated_file_the_user_deleted_stays_deleted() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    ws.run_in(&dir, &["add", "cache"]).ok();
    fs::remove_file(dir.join("app/features/cache.py")).unwrap();
    let run = ws.run_in(&dir, &["add", "jobs"]);
    run.ok();
    assert!(
        run.stderr
            .contains("app/features/cache.py: you deleted this generated file"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("app/features/cache.py").exists());
    let status: serde_json::Value =
        serde_json::from_str(&ws.run_in(&dir, &["status", "--json"]).stdout).unwrap();
    assert_eq!(
        status["missing"],
        serde_json::json!(["app/features/cache.py"])
    );
}

#[test]
fn a_failure_midway_leaves_the_tree_untouched() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    ws.run_in(&dir, &["add", "cache"]).ok();
    let before = tree(&dir);
    let before_folders = folders(&dir);
    for after in 0..6 {
        let mut cmd = ws.command(&dir, &["add", "jobs"]);
        cmd.env("PAXX_TEST_FAIL_AFTER_RENAMES", after.to_string());
        let run = ws.finish(cmd);
        run.failed();
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
        assert_eq!(
            differences(&before, &tree(&dir)),
            Vec::<String>::new(),
            "failing after {after} renames"
        );
        assert_eq!(
            folders(&dir),
            before_folders,
            "failing after {after} renames"
        );
    }
    ws.run_in(&dir, &["add", "jobs"]).ok();
}

#[test]
fn an_unwritable_folder_fails_before_any_write() {
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    // A file where a folder must be created: fails for root too, unlike chmod.
    fs::remove_dir_all(dir.join("tests")).unwrap();
    fs::write(dir.join("tests"), "not a folder").unwrap();
    let before = tree(&dir);
    let run = ws.run_in(&dir, &["add", "cache"]);
    run.failed();
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());

    // A folder the kernel will not let anyone write to.
    let run = ws.run_in(std::path::Path::new("/proc"), &["new", "x"]);
    run.failed();
    assert!(!std::path::Path::new("/proc/x").exists());
}

#[cfg(unix)]
#[test]
#[cfg_attr(
    paxx_test_as_root,
    ignore = "root ignores folder permissions (the fault-injection test covers a failed write as root)"
)]
fn a_read_only_folder_fails_before_any_write() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    ws.run(&["new", "app"]).ok();
    let dir = ws.project("app");
    let features = dir.join("app/features");
    fs::set_permissions(&features, fs::Permissions::from_mode(0o555)).unwrap();
    assert!(
        fs::write(features.join(".probe"), "").is_err(),
        "folder permissions do not bind for this user (root's capabilities?): this test cannot show anything"
    );
    let before = tree(&dir);
    let run = ws.run_in(&dir, &["add", "cache"]);
    fs::set_permissions(&features, fs::Permissions::from_mode(0o755)).unwrap();
    run.failed();
    assert_eq!(differences(&before, &tree(&dir)), Vec::<String>::new());
}

#[test]
fn quiet_says_only_what_was_asked_for_and_errors() {
    let ws = Workspace::new();
    let run = ws.run(&["--quiet", "new", "shop"]);
    run.ok();
    assert_eq!(run.stderr, "", "{}", run.transcript());
    let shop = ws.project("shop");
    let run = ws.run_in(&shop, &["add", "jobs", "-q"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, ""),
        "{}",
        run.transcript()
    );
    let toml = fs::read_to_string(shop.join("paxx.toml")).unwrap();
    assert!(toml.contains("\"jobs\""), "{toml}");
    // The data asked for is still printed, and errors still are.
    let run = ws.run_in(&shop, &["-q", "add", "--dry-run", "cache"]);
    assert!(
        run.stdout.contains("+++") && run.stderr.is_empty(),
        "{}",
        run.transcript()
    );
    let run = ws.run_in(&shop, &["-q", "add", "no-such-feature"]);
    assert!(
        run.stderr.contains("error: unknown feature"),
        "{}",
        run.transcript()
    );
    let run = ws.run_in(&shop, &["status", "--json", "--quiet"]);
    assert!(run.stdout.contains("\"features\""), "{}", run.transcript());
}
