//! `completions` and `man`: the bash script is sourced by a real bash and its completion
//! function called as bash calls it on Tab (COMP_WORDS / COMP_CWORD).

use std::process::Command;

use crate::common::*;

/// What bash offers for `words` (the last one being completed) with `script` loaded.
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paxx-compose.bash");
    std::fs::write(&file, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    // Find the function the script registered, as bash would, then call it with the
    // arguments bash passes: command name, current word, previous word.
    let program = format!(
        r#"source "$1" || exit 1
fn=$(complete -p paxx-compose | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || {{ echo "no completion function registered" >&2; exit 1; }}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$fn" paxx-compose "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = quoted.join(" ")
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .arg("bash")
        .arg(&file)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn script(ws: &Workspace, shell: &str) -> String {
    let run = ws.run(&["completions", shell]);
    run.ok();
    run.stdout
}

#[test]
fn bash_completes_feature_names_from_the_catalog() {
    let ws = Workspace::embedded_only();
    let bash = script(&ws, "bash");
    let cases: &[(&[&str], &[&str])] = &[
        (&["paxx-compose", "add", "feature", "re"], &["redis"]),
        (&["paxx-compose", "add", "re"], &["redis"]),
        (&["paxx-compose", "add", "fe"], &["feature"]),
        (
            &["paxx-compose", "add", "feature", "redis", "ta"],
            &["tasks"],
        ),
        (&["paxx-compose", "remove", "feature", "st"], &["storage"]),
        (&["paxx-compose", "show", "ta"], &["tasks"]),
        (&["paxx-compose", "compl"], &["completions"]),
        (&["paxx-compose", "add", "--dr"], &["--dry-run"]),
        (&["paxx-compose", "completions", "fi"], &["fish"]),
    ];
    for (words, want) in cases {
        assert_eq!(
            bash_complete(&bash, words),
            *want,
            "completing {}",
            words.join(" ")
        );
    }
}

#[test]
fn bash_completion_includes_modules_from_paxx_modules() {
    // The fixture catalog on PAXX_MODULES has `sms`; the embedded one has no module
    // starting with "sm".
    let bash = script(&Workspace::new(), "bash");
    assert_eq!(
        bash_complete(&bash, &["paxx-compose", "add", "feature", "sm"]),
        ["sms"]
    );
    let bash = script(&Workspace::embedded_only(), "bash");
    assert!(bash_complete(&bash, &["paxx-compose", "add", "feature", "sm"]).is_empty());
}

#[test]
fn every_shell_gets_a_script() {
    let ws = Workspace::embedded_only();
    // Feature names where clap_complete (and our additions) can offer positional values.
    for shell in ["bash", "zsh", "fish"] {
        let text = script(&ws, shell);
        for name in ["redis", "tasks", "storage"] {
            assert!(text.contains(name), "{shell} script lacks {name}");
        }
    }
    // Subcommands and options only: clap_complete's PowerShell and Elvish generators
    // complete no positional values.
    for shell in ["powershell", "elvish"] {
        let text = script(&ws, shell);
        for word in ["add", "--dry-run", "completions"] {
            assert!(
                text.contains(&format!("{word} '")) || text.contains(&format!("'{word}'")),
                "{shell} script lacks {word}"
            );
        }
    }
    let run = ws.run(&["completions", "tcsh"]);
    run.failed();
    assert!(run.stderr.contains("possible values"), "{}", run.stderr);
}

#[test]
fn an_unknown_feature_still_gets_paxx_own_error() {
    // The names offered to the shells are not enforced by the parser.
    let ws = Workspace::embedded_only();
    ws.run(&["new", "app"]).ok();
    let run = ws.run_in(&ws.project("app"), &["add", "feature", "redsi"]);
    run.failed();
    assert!(run.stderr.contains("redis"), "{}", run.stderr);
}

#[test]
fn man_page_lists_every_visible_command() {
    let ws = Workspace::embedded_only();
    let run = ws.run(&["man"]);
    run.ok();
    assert!(run.stdout.contains(".TH paxx-compose 1"), "{}", run.stdout);
    for cmd in [
        "new",
        "init",
        "add",
        "remove",
        "status",
        "up",
        "upgrade",
        "completions",
    ] {
        assert!(
            run.stdout.contains(&format!("paxx\\-compose\\-{cmd}(1)")),
            "man page lacks {cmd}"
        );
    }
    assert!(!run.stdout.contains("snapshot"), "hidden commands stay out");

    ws.run(&["man", "--dir", "man"]).ok();
    let mut pages: Vec<String> = std::fs::read_dir(ws.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "paxx-compose.1",
        "paxx-compose-add.1",
        "paxx-compose-completions.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "no {page} in {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("snapshot")), "{pages:?}");
    let add = std::fs::read_to_string(ws.path().join("man/paxx-compose-add.1")).unwrap();
    assert!(add.contains("\\-\\-dry\\-run"), "{add}");
}
