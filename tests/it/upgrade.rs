//! `upgrade` on real folders, what happens to each file: a project generated from the
//! 0.9.0 fixture catalog, edited in every way the issue lists, then upgraded to 0.10.0
//! (tests/fixtures/upgrade/README.md). Safety and state: tests/it/upgrade_safety.rs.

use std::fs;

use crate::common::upgrade::*;
use crate::common::*;

#[test]
fn every_kind_of_edit_gets_its_outcome() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit_every_kind(&dir);
    commit(&dir, "my edits");
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    assert_eq!(
        run.code, 1,
        "a conflict makes the exit code 1\n{}",
        run.stderr
    );
    insta::assert_snapshot!(run.transcript());

    // Untouched by the user, changed upstream: replaced.
    assert_eq!(
        read(&dir, "app/main.py"),
        read(&fixtures().join(NEW).join("templates/mini"), "app/main.py")
    );
    // Changed by the user, not upstream: kept.
    assert_eq!(
        read(&dir, "app/settings.py"),
        "DEBUG = True\nNAME = \"app\"\n"
    );
    // Both changed, apart: merged.
    let alpha = read(&dir, "app/alpha.py");
    assert!(
        alpha.contains("NAME = \"my-alpha\"") && alpha.contains("TIMEOUT = 5"),
        "{alpha}"
    );
    // Both changed the same line: markers.
    assert_eq!(
        read(&dir, "app/routes.py"),
        "ROUTES = [\n    \"/health\",\n]\n<<<<<<< yours\nPREFIX = \"/shop\"\n\
         ||||||| paxx 0.9.0\nPREFIX = \"/api\"\n=======\nPREFIX = \"/api/v1\"\n>>>>>>> paxx 0.10.0\n"
    );
    // Deleted by the user: stays deleted.
    assert!(!dir.join("app/beta.py").exists());
    // New upstream: added (a template file and a module file).
    assert_eq!(
        read(&dir, "app/health.py"),
        "def live():\n    return \"ok\"\n"
    );
    assert!(dir.join("app/beta_worker.py").is_file());
    // Gone upstream: removed when untouched, kept when changed.
    assert!(!dir.join("app/legacy.py").exists() && !dir.join("app/alpha_extra.py").exists());
    assert_eq!(
        read(&dir, "app/old_helpers.py"),
        "def helper():\n    return 1\n# mine\n"
    );
    // Renamed by a migration: the user's edit moved with it and merged with upstream's.
    assert!(!dir.join("app/alpha_client.py").exists());
    assert_eq!(
        read(&dir, "app/alpha_api.py"),
        "class Client:\n    retries = 3\n\n\ndef make(timeout=5):\n    return Client()\n"
    );
    // README: the user's line, the template's new line, the module's new section.
    let readme = read(&dir, "README.md");
    // Both sides of the merge were named as `new` names a project.
    assert!(readme.starts_with("# shop\n"), "{readme}");
    for line in [
        "My shop.",
        "Run `uv run pytest`.",
        "The alpha client, with timeouts.",
    ] {
        assert!(readme.contains(line), "{line}:\n{readme}");
    }
    // The registry is regenerated.
    assert!(read(&dir, "app/features.py").starts_with("\"\"\"The enabled features."));
    // Settings: template's new key, the migration's rename (also in .env), the module's
    // new key, the user's value where upstream changed the default (kept, and said), the
    // user's own block; nothing lost, nothing in conflict.
    assert_eq!(
        read(&dir, ".env.example"),
        "# Settings\nSECRET_KEY=change-me\nLOG_LEVEL=INFO\nLOG_JSON=false\n\n\
         # alpha (paxx-compose feature)\nALPHA_DSN=alpha://127.0.0.1/0\nALPHA_TIMEOUT=5\n\n\
         # beta (paxx-compose feature)\nBETA_URL=beta://mine\n\n# mine\nMY_SETTING=1\n"
    );
    assert!(
        run.stderr.contains(
            "note: .env.example: you changed `BETA_URL` to `beta://mine`; paxx's default is \
             now `beta://127.0.0.1:7000` (was `beta://127.0.0.1`): yours is kept"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        read(&dir, ".env"),
        "ALPHA_DSN=alpha://prod/0\nSECRET_KEY=x\n"
    );
    // The user's own file is never touched.
    assert_eq!(read(&dir, "notes.md"), "my own file\n");
    // paxx.toml records the new version, module versions, hashes and the conflict.
    insta::assert_snapshot!(redact_hashes(&read(&dir, "paxx.toml")));
}

#[test]
fn a_dependency_bump_is_replanned_in_place_without_conflict() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    // The user's own dependency sits right after paxx's, where the template and the
    // module change theirs: a line merge would conflict here.
    edit(
        &dir,
        "pyproject.toml",
        "    \"beta-lib\",\n",
        "    \"beta-lib\",\n    \"httpx>=0.27\",\n",
    );
    commit(&dir, "httpx");
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.ok();
    assert!(
        run.stderr.contains("re-planned: pyproject.toml"),
        "{}",
        run.stderr
    );
    assert_eq!(
        read(&dir, "pyproject.toml"),
        r#"[project]
name = "shop"
version = "0.1.0"
dependencies = [
    "fastapi>=0.115",
    "pydantic>=2.7",
    "uvicorn>=0.29",
    "alpha-lib>=1.2",
    "beta-lib",
    "httpx>=0.27",
]

[dependency-groups]
dev = [
    "pytest>=8",
    "beta-testing>=1",
]

[tool.ruff]
line-length = 100
"#
    );
    let toml = read(&dir, "paxx.toml");
    assert!(
        toml.contains("dependencies = [\"alpha-lib>=1.2\", \"beta-lib\"]"),
        "{toml}"
    );
    assert!(
        toml.contains("dev-dependencies = [\"beta-testing>=1\"]"),
        "{toml}"
    );
}

#[test]
fn a_migration_moves_the_users_file_and_its_edit() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    edit(&dir, "app/alpha_client.py", "retries = 1", "retries = 3");
    commit(&dir, "retries");
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    run.ok();
    assert!(
        run.stderr
            .contains("renamed app/alpha_client.py → app/alpha_api.py (migration)"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("app/alpha_client.py").exists());
    assert!(read(&dir, "app/alpha_api.py").contains("retries = 3"));
    assert!(read(&dir, "app/alpha_api.py").contains("def make(timeout=5)"));
}

#[test]
fn an_untouched_project_upgrades_to_exactly_what_new_generates() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    let env = fs::read(dir.join(".env")).unwrap();
    paxx(&ws, &dir, NEW, &["upgrade"]).ok();
    assert_eq!(
        fs::read(dir.join(".env")).unwrap(),
        env,
        "upgrade touched .env"
    );
    let args = [
        "new",
        "fresh",
        "--name",
        "shop",
        "--template",
        "mini",
        "--feature",
        "alpha,beta",
    ];
    paxx(&ws, ws.path(), NEW, &args).ok();
    assert_eq!(
        differences(
            &tree_without_env(&dir),
            &tree_without_env(&ws.project("fresh"))
        ),
        Vec::<String>::new()
    );
    assert_eq!(folders(&dir), folders(&ws.project("fresh")));
}

#[test]
fn a_file_exactly_as_paxx_recorded_it_is_unchanged_by_the_user() {
    use sha2::Digest;
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    // As if paxx 0.9.0 had rendered app/alpha.py a little differently from how today's
    // renderer makes it from the 0.9.0 catalog: the hash in paxx.toml is the judge.
    let drifted = read(&dir, "app/alpha.py").replace("NAME", "NAME ");
    fs::write(dir.join("app/alpha.py"), &drifted).unwrap();
    let hash = |text: &str| format!("sha256:{:x}", sha2::Sha256::digest(text.as_bytes()));
    let original = hash(
        &read(&fixtures().join(OLD), "modules/alpha/files/app/alpha.py.j2")
            .replace("{{ project.name }}", "shop"),
    );
    edit(&dir, "paxx.toml", &original, &hash(&drifted));
    commit(&dir, "drifted");
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    assert!(
        run.ok().stderr.contains("updated: app/alpha.py"),
        "{}",
        run.stderr
    );
    let now = read(&dir, "app/alpha.py");
    assert!(
        !now.contains("NAME  =") && now.contains("TIMEOUT = 5"),
        "{now}"
    );
}

#[test]
fn a_file_of_the_users_where_paxx_now_adds_one_is_a_conflict() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    fs::write(dir.join("app/health.py"), "def mine():\n    pass\n").unwrap();
    commit(&dir, "health");
    let run = paxx(&ws, &dir, NEW, &["upgrade"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("CONFLICT: app/health.py"),
        "{}",
        run.stderr
    );
    let text = read(&dir, "app/health.py");
    assert!(
        text.contains("def mine():") && text.contains("def live():"),
        "{text}"
    );
}

#[test]
fn doctor_compares_an_older_project_with_its_own_catalog() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    // Nothing edited: with the 0.10.0 catalog, doctor must judge by 0.9.0's files.
    let run = paxx(&ws, &dir, NEW, &["doctor", "--json"]);
    assert!(
        !run.stdout.contains("changed by you") && run.stdout.contains("matches the generated"),
        "{}",
        run.transcript()
    );
}

#[test]
fn doctor_does_not_compare_a_project_whose_catalog_it_lacks() {
    let ws = Workspace::embedded_only();
    let dir = old_project(&ws);
    // A version the fixture history does not hold: comparing with 0.10.0's files would
    // call every file paxx changed since "changed by you".
    edit(
        &dir,
        "paxx.toml",
        "paxx-version = \"0.9.0\"",
        "paxx-version = \"0.8.0\"",
    );
    let run = paxx(&ws, &dir, NEW, &["doctor", "--json"]);
    assert!(
        !run.stdout.contains("changed by you") && run.stdout.contains("not compared"),
        "{}",
        run.transcript()
    );
}
