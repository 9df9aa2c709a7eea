//! Unit tests of the structured re-plans: pyproject entries, settings blocks.

use super::*;

const LABELS: Labels = Labels {
    ours: "yours",
    base: "paxx 1",
    theirs: "paxx 2",
};
const TEMPLATE: &str = "[project]\nname = \"app\"\ndependencies = [\n    \"fastapi>=0.110\",\n]\n";

fn upgrade_deps(ours: &str, recorded: &[String], needed: &[&str]) -> Outcome {
    pyproject(
        &Pyproject {
            ours,
            base_bare: TEMPLATE,
            theirs_bare: TEMPLATE,
            recorded: [recorded, &[]],
            needed: [needed.iter().map(|s| s.to_string()).collect(), vec![]],
        },
        &LABELS,
    )
    .unwrap()
}

#[test]
fn a_spec_the_user_changed_is_kept_and_no_longer_paxxs() {
    let ours = TEMPLATE.replace("\n]\n", "\n    \"redis==5.0.4\",\n]\n");
    let out = upgrade_deps(&ours, &["redis>=5.0".into()], &["redis>=5.2"]);
    assert_eq!(out.merged, Merged::Clean(ours));
    assert!(out.recorded[0].is_empty());
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
}

#[test]
fn a_dependency_no_feature_needs_goes_and_a_new_one_comes() {
    let ours = TEMPLATE.replace("\n]\n", "\n    \"old-lib\",\n]\n");
    let out = upgrade_deps(&ours, &["old-lib".into()], &["new-lib>=1"]);
    assert_eq!(
        out.merged.text(),
        TEMPLATE.replace("\n]\n", "\n    \"new-lib>=1\",\n]\n")
    );
    assert_eq!(out.recorded[0], vec!["new-lib>=1"]);
}

fn upgrade_env(ours: &str, old: &[(&str, &str)], new: &[(&str, &str)]) -> (String, Vec<String>) {
    let block = |entries: &[(&str, &str)]| -> Blocks {
        let list = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        [("redis".to_string(), list)].into()
    };
    let out = env_example(
        &EnvExample {
            ours,
            base_bare: "A=1\n",
            theirs_bare: "A=1\n",
            renames: &[],
            old_blocks: &block(old),
            new_blocks: &block(new),
        },
        &LABELS,
    );
    (out.merged.text().to_string(), out.notes)
}

#[test]
fn a_value_the_user_changed_is_kept_and_paxxs_new_ones_arrive() {
    let ours = "A=1\n\n# redis (paxx-compose feature)\nURL=mine\nTTL=300\n";
    let (got, notes) = upgrade_env(
        ours,
        &[("URL", "paxx"), ("TTL", "300")],
        &[("URL", "paxx2"), ("TTL", "600"), ("POOL", "5")],
    );
    assert_eq!(
        got,
        "A=1\n\n# redis (paxx-compose feature)\nURL=mine\nTTL=600\nPOOL=5\n"
    );
    assert_eq!(
        notes,
        vec![
            ".env.example: you changed `URL` to `mine`; paxx's default is now `paxx2` \
              (was `paxx`): yours is kept"
        ]
    );
}

#[test]
fn a_setting_gone_upstream_goes_unless_the_user_changed_it() {
    let ours = "A=1\n\n# redis (paxx-compose feature)\nURL=x\nOLD=mine\nGONE=1\n";
    let (got, notes) = upgrade_env(
        ours,
        &[("URL", "x"), ("OLD", "paxx"), ("GONE", "1")],
        &[("URL", "x")],
    );
    assert_eq!(
        got,
        "A=1\n\n# redis (paxx-compose feature)\nURL=x\nOLD=mine\n"
    );
    assert_eq!(
        notes,
        vec![
            ".env.example: `OLD` is no longer a setting of `redis`; you changed it to \
              `mine`, so it stays"
        ]
    );
}
