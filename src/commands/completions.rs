//! `completions <shell>`: a completion script generated from the clap definitions, with
//! the catalog's feature names baked in for `add`, `remove` and `show`.
//!
//! Static scripts rather than clap_complete's dynamic completion (`unstable-dynamic`):
//! a stable API, no call back into the binary on each Tab, no protocol between an old
//! script and a newer binary, and files a package can install. The names are those of
//! the catalog this binary carries (plus `PAXX_MODULES`), which is what `add` accepts; a
//! newer paxx-compose regenerates them (the Nix package does so at build time).

use std::io::Write;

use anyhow::{Context, Result};
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::Command;
use clap_complete::Shell;

use crate::printer::ExitStatus;
use crate::project;

const BIN: &str = "paxx-compose";

/// A feature the shells offer: its name and one line about it.
struct Feature {
    name: &'static str,
    summary: String,
}

pub fn run(shell: clap_complete::Shell) -> Result<ExitStatus> {
    let catalog = project::load_catalog()?;
    // clap (without its `string` feature) takes `'static` names; this process prints one
    // script and exits, so leaking a few short strings costs nothing.
    let features: Vec<Feature> = catalog
        .modules
        .into_values()
        .map(|m| Feature {
            name: Box::leak(m.manifest.module.name.into_boxed_str()),
            summary: m.manifest.module.summary,
        })
        .collect();
    let script = script(shell, &features);
    std::io::stdout()
        .write_all(script.as_bytes())
        .context("cannot write the completion script to stdout")?;
    Ok(ExitStatus::Success)
}

fn script(shell: Shell, features: &[Feature]) -> String {
    let mut cmd = with_feature_names(crate::cli::command(), features);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    match shell {
        Shell::Bash => text = fix_bash_dispatch(&text),
        Shell::Fish => text.push_str(&fish_positionals(features)),
        _ => {}
    }
    text
}

/// `cmd` with the feature-name positionals offering the features (and `add`/`remove` the
/// optional word `feature`). Only the completion script sees these values: the parser
/// `main` uses keeps accepting any name, so an unknown one still gets paxx's own error
/// with the closest match.
fn with_feature_names(cmd: Command, features: &[Feature]) -> Command {
    let values = |word: bool| {
        let word = word.then(|| PossibleValue::new("feature").help("(optional word)"));
        let names = features
            .iter()
            .map(|f| PossibleValue::new(f.name).help(f.summary.clone()));
        PossibleValuesParser::new(word.into_iter().chain(names))
    };
    cmd.mut_subcommand("add", |c| {
        c.mut_arg("names", |a| a.value_parser(values(true)))
    })
    .mut_subcommand("remove", |c| {
        c.mut_arg("names", |a| a.value_parser(values(true)))
    })
    .mut_subcommand("show", |c| {
        c.mut_arg("name", |a| a.value_parser(values(false)))
    })
}

/// clap_complete's bash script spells a hyphenated binary's state two ways: the loop that
/// reads the words sets `paxx__compose__subcmd__add`, the arms that answer match
/// `paxx__subcmd__compose__subcmd__add`, so nothing after a subcommand would complete
/// (clap-rs/clap#6421, open for clap_complete 4.6). Spell the arms as the loop does; once
/// clap_complete is fixed the misspelling is gone and this changes nothing.
fn fix_bash_dispatch(script: &str) -> String {
    let wrong = BIN.replace('-', "__subcmd__");
    let right = BIN.replace('-', "__");
    script.replace(&wrong, &right)
}

/// clap_complete's fish generator completes options only, not positional values: add the
/// feature names for `add`, `remove` and `show`, with the helper its script defines.
fn fish_positionals(features: &[Feature]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let when = |sub: &str| format!("__fish_{}_using_subcommand {sub}", BIN.replace('-', "_"));
    let mut out = String::from("\n# Feature names (added by paxx-compose: positional values)\n");
    for sub in ["add", "remove", "show"] {
        if sub != "show" {
            out.push_str(&format!(
                "complete -c {BIN} -n {} -f -a feature -d {}\n",
                quote(&when(sub)),
                quote("(optional word)")
            ));
        }
        for f in features {
            out.push_str(&format!(
                "complete -c {BIN} -n {} -f -a {} -d {}\n",
                quote(&when(sub)),
                quote(f.name),
                quote(&f.summary)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Vec<Feature> {
        ["redis", "tasks"]
            .into_iter()
            .map(|name| Feature {
                name,
                summary: format!("{name}'s summary"),
            })
            .collect()
    }

    fn offered(cmd: &Command, sub: &str, arg: &str) -> Vec<String> {
        let sub = cmd.find_subcommand(sub).expect("subcommand");
        let arg = sub
            .get_arguments()
            .find(|a| a.get_id() == arg)
            .expect("argument");
        arg.get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect()
    }

    #[test]
    fn feature_positionals_offer_the_names() {
        let cmd = with_feature_names(crate::cli::command(), &features());
        assert_eq!(offered(&cmd, "add", "names"), ["feature", "redis", "tasks"]);
        assert_eq!(
            offered(&cmd, "remove", "names"),
            ["feature", "redis", "tasks"]
        );
        assert_eq!(offered(&cmd, "show", "name"), ["redis", "tasks"]);
        cmd.debug_assert();
    }

    #[test]
    fn the_parser_itself_accepts_any_name() {
        // The real parser has no possible values: `add nosuch` reaches paxx's own error.
        let cli =
            <crate::cli::Cli as clap::Parser>::try_parse_from([BIN, "add", "feature", "nosuch"]);
        assert!(cli.is_ok());
        assert!(offered(&crate::cli::command(), "add", "names").is_empty());
    }

    #[test]
    fn bash_arms_match_the_state_the_loop_sets() {
        let text = script(Shell::Bash, &features());
        assert!(
            text.contains("cmd=\"paxx__compose__subcmd__add\""),
            "{text}"
        );
        assert!(
            text.contains("\n        paxx__compose__subcmd__add)"),
            "{text}"
        );
        assert!(!text.contains("paxx__subcmd__compose"), "{text}");
    }

    #[test]
    fn fish_gets_the_names_with_their_summaries_quoted() {
        let text = script(Shell::Fish, &features());
        // The helper the added lines call is the one clap_complete's script defines.
        assert!(
            text.contains("function __fish_paxx_compose_using_subcommand"),
            "{text}"
        );
        assert!(text.contains(
            "complete -c paxx-compose -n '__fish_paxx_compose_using_subcommand add' -f -a 'redis' -d 'redis\\'s summary'"
        ), "{text}");
        assert!(text.contains("-n '__fish_paxx_compose_using_subcommand show' -f -a 'tasks'"));
        assert!(!text.contains("using_subcommand show' -f -a feature"));
    }
}
