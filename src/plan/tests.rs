//! Unit tests of the planner on a small in-memory catalog.

use super::*;
use crate::catalog::{Module, ModuleFile};
use crate::manifest::{ModuleInfo, ModuleManifest, PythonDeps, TemplateInfo, TemplateManifest};

const REGISTRY: &str =
    "{% for f in features %}import {{ f }}\n{% endfor %}FEATURES = [{{ features | join(', ') }}]\n";
const PAXX: &str =
    "[project]\nname = \"app\"\ntemplate = \"t\"\npaxx-version = \"0.1.0\"\nfeatures = []\n";
const PYPROJECT: &str = "[project]\nname = \"app\"\ndependencies = [\n    \"fastapi\",\n]\n";

fn module(name: &str, requires: &[&str], deps: &[&str], files: &[(&str, &str)]) -> Module {
    Module {
        manifest: ModuleManifest {
            module: ModuleInfo {
                name: name.into(),
                version: 1,
                summary: format!("{name} module"),
                templates: vec!["t".into()],
                requires: requires.iter().map(|s| s.to_string()).collect(),
                conflicts: vec![],
            },
            python: PythonDeps {
                dependencies: deps.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            nix: Default::default(),
            services: vec![],
            env: [(format!("{}_URL", name.to_uppercase()), "x://".to_string())].into(),
            files: Default::default(),
            migrations: vec![],
        },
        files: files
            .iter()
            .map(|(p, c)| {
                (
                    p.to_string(),
                    ModuleFile {
                        content: c.as_bytes().to_vec(),
                        render: true,
                    },
                )
            })
            .collect(),
        readme: Some(format!("## {name}\n")),
        origin: "test".into(),
    }
}

fn catalog() -> Catalog {
    let template = Template {
        manifest: TemplateManifest {
            template: TemplateInfo {
                name: "t".into(),
                summary: "test".into(),
                registry: "app/registry.py".into(),
                registry_template: "t.registry.j2".into(),
                readme: Some("README.md".into()),
            },
            python: Default::default(),
            nix: Default::default(),
            services: vec![],
            env: Default::default(),
            names: [("README.md".to_string(), vec!["# {name}".to_string()])].into(),
        },
        files: [
            ("paxx.toml", PAXX),
            ("pyproject.toml", PYPROJECT),
            ("app/registry.py", "FEATURES = []\n"),
            (".env.example", "SECRET_KEY=x\n"),
            (
                "README.md",
                "# app\n<!-- paxx:features:start -->\n<!-- paxx:features:end -->\n",
            ),
        ]
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect(),
        registry_template: REGISTRY.into(),
    };
    let modules = [
        module(
            "redis",
            &[],
            &["redis>=5"],
            &[("app/redis.py", "R = {{ 'tasks' in features }}\n")],
        ),
        module(
            "tasks",
            &["redis"],
            &["arq", "redis>=5"],
            &[("app/tasks.py", "T = 1\n")],
        ),
    ];
    Catalog {
        version: "0.1.0".into(),
        templates: [("t".to_string(), template)].into(),
        modules: modules
            .into_iter()
            .map(|m| (m.manifest.module.name.clone(), m))
            .collect(),
    }
}

fn apply(tree: &mut BTreeMap<String, Vec<u8>>, plan: &Plan) {
    for c in &plan.changes {
        match &c.after {
            Some(b) => tree.insert(c.path.clone(), b.clone()),
            None => tree.remove(&c.path),
        };
    }
}

fn plan_on(tree: &BTreeMap<String, Vec<u8>>, request: Request, force: bool) -> Result<Plan> {
    let project = Project::load(tree)?;
    plan_features(&catalog(), &project, &request, force)
}

fn text(tree: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(tree[path].clone()).unwrap()
}

#[test]
fn adding_a_feature_pulls_in_its_requirements() {
    let mut tree = catalog().templates["t"].files.clone();
    let plan = plan_on(&tree, Request::Add(vec!["tasks".into()]), false).unwrap();
    assert_eq!(plan.notes, vec!["tasks needs redis: adding it"]);
    apply(&mut tree, &plan);
    assert_eq!(text(&tree, "app/redis.py"), "R = True\n");
    assert_eq!(
        text(&tree, "app/registry.py"),
        "import redis\nimport tasks\nFEATURES = [redis, tasks]\n"
    );
    assert!(text(&tree, "pyproject.toml").contains("    \"redis>=5\",\n    \"arq\",\n]"));
    assert!(
        text(&tree, ".env.example").contains("# redis (paxx-compose feature)\nREDIS_URL=x://\n")
    );
    assert!(text(&tree, "README.md").contains("## redis\n\n## tasks\n<!--"));
    let state = PaxxTomlMut::parse(&text(&tree, "paxx.toml"))
        .unwrap()
        .state()
        .unwrap();
    assert_eq!(state.features, vec!["tasks"]);
    assert_eq!(state.added_dependencies, vec!["redis>=5", "arq"]);
    assert_eq!(state.generated.len(), 3, "{:?}", state.generated);
}

#[test]
fn add_then_remove_is_the_identity() {
    let bare = catalog().templates["t"].files.clone();
    let mut tree = bare.clone();
    let plan = plan_on(&tree, Request::Add(vec!["tasks".into()]), false).unwrap();
    apply(&mut tree, &plan);
    let plan = plan_on(&tree, Request::Remove(vec!["tasks".into()]), false).unwrap();
    apply(&mut tree, &plan);
    assert_eq!(tree, bare);
}

#[test]
fn paxx_toml_is_the_last_change() {
    let tree = catalog().templates["t"].files.clone();
    let plan = plan_on(&tree, Request::Add(vec!["redis".into()]), false).unwrap();
    assert_eq!(plan.changes.last().unwrap().path, "paxx.toml");
}

#[test]
fn a_changed_generated_file_is_a_conflict_unless_forced() {
    let mut tree = catalog().templates["t"].files.clone();
    let plan = plan_on(&tree, Request::Add(vec!["redis".into()]), false).unwrap();
    apply(&mut tree, &plan);
    tree.insert("app/redis.py".into(), b"mine\n".to_vec());
    let err = plan_on(&tree, Request::Add(vec!["tasks".into()]), false).unwrap_err();
    let conflicts = &err.downcast_ref::<ConflictError>().unwrap().0;
    assert_eq!(
        conflicts,
        &vec![Conflict {
            path: "app/redis.py".into(),
            reason: "changed since paxx wrote it; paxx would overwrite it"
        }]
    );
    let forced = plan_on(&tree, Request::Add(vec!["tasks".into()]), true).unwrap();
    assert!(forced.changes.iter().any(|c| c.path == "app/redis.py"));
}

#[test]
fn a_dependency_the_user_already_has_is_neither_added_nor_removed() {
    let mut tree = catalog().templates["t"].files.clone();
    tree.insert(
        "pyproject.toml".into(),
        PYPROJECT
            .replace("\"fastapi\",", "\"fastapi\",\n    \"Redis>=4\",")
            .into_bytes(),
    );
    let before = text(&tree, "pyproject.toml");
    let plan = plan_on(&tree, Request::Add(vec!["redis".into()]), false).unwrap();
    apply(&mut tree, &plan);
    assert_eq!(text(&tree, "pyproject.toml"), before);
    let plan = plan_on(&tree, Request::Remove(vec!["redis".into()]), false).unwrap();
    apply(&mut tree, &plan);
    assert_eq!(text(&tree, "pyproject.toml"), before);
}

#[test]
fn unknown_names_are_refused_with_a_suggestion() {
    let tree = catalog().templates["t"].files.clone();
    let err = plan_on(&tree, Request::Add(vec!["reddis".into()]), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown feature `reddis` (did you mean `redis`?)"),
        "{err}"
    );
}

fn rename_on(tree: &BTreeMap<String, Vec<u8>>, name: &str) -> Result<Plan> {
    let catalog = catalog();
    plan_rename(&Project::load(tree)?, &catalog.templates["t"], name)
}

#[test]
fn renaming_writes_the_name_on_the_listed_lines_and_back() {
    let bare = catalog().templates["t"].files.clone();
    let mut tree = bare.clone();
    let plan = rename_on(&tree, "my-shop").unwrap();
    let paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["README.md", "pyproject.toml", "paxx.toml"]);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    apply(&mut tree, &plan);
    assert!(text(&tree, "README.md").starts_with("# my-shop\n<!--"));
    let back = rename_on(&tree, "app").unwrap();
    apply(&mut tree, &back);
    assert_eq!(tree, bare);
}

#[test]
fn renaming_leaves_a_line_the_user_changed_and_says_so() {
    let mut tree = catalog().templates["t"].files.clone();
    tree.insert("README.md".into(), b"# The Shop\n".to_vec());
    let plan = rename_on(&tree, "shop").unwrap();
    assert!(plan.changes.iter().all(|c| c.path != "README.md"));
    assert_eq!(
        plan.notes,
        ["README.md: no line `# app` (changed?); write the name there yourself"]
    );
}

#[test]
fn names_that_would_not_fit_are_refused() {
    for bad in [
        "", "my shop", "-shop", "shop.", "shop!", "café", "a/b", "{name}",
    ] {
        assert!(check_project_name(bad).is_err(), "{bad:?} was accepted");
    }
    for good in ["shop", "my-shop", "my_shop", "Shop.Api", "2shop", "a"] {
        check_project_name(good).unwrap();
    }
}
