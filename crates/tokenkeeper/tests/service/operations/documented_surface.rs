//! The docs cannot drift from the code: every subcommand clap knows is in the command table of
//! docs/operating.md, and every configuration key the program reads is in the table of
//! docs/configuration.md with its default. Both lists come from the code itself (the clap
//! command, the serialized defaults), so a command or key added without its row fails here.

use crate::service_tests;
use clap::CommandFactory;
use std::path::PathBuf;
use tokenkeeper::cli::Cli;

service_tests!(
    every_subcommand_is_in_the_command_table,
    every_configuration_key_is_documented_with_its_default,
);

fn doc(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cells of each table row of `text`, trimmed: `| a | b |` -> `["a", "b"]`.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix('|')?.strip_suffix('|'))
        .map(|row| {
            row.split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// `notify send-pending`, `serve`...: each command that runs, by the words that run it.
fn command_lines(command: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
    {
        let line = format!("{prefix}{}", sub.get_name());
        if sub.has_subcommands() {
            command_lines(sub, &format!("{line} "), out);
        } else {
            out.push(line);
        }
    }
}

async fn every_subcommand_is_in_the_command_table() {
    let mut commands = Vec::new();
    command_lines(&Cli::command(), "", &mut commands);
    assert!(commands.contains(&"webhooks generate-secret".to_owned()));
    let documented: Vec<String> = rows(&doc("operating.md"))
        .into_iter()
        .filter_map(|cells| {
            Some(
                cells
                    .first()?
                    .strip_prefix('`')?
                    .split('`')
                    .next()?
                    .to_owned(),
            )
        })
        .collect();
    let missing: Vec<_> = commands
        .iter()
        .filter(|command| {
            !documented
                .iter()
                .any(|shown| shown == *command || shown.starts_with(&format!("{command} ")))
        })
        .collect();
    assert!(missing.is_empty(), "not in docs/operating.md: {missing:?}");
}

/// How the table writes a default: `value`, or a note in italics for an empty one.
fn documented_default(default: &toml::Value) -> Option<String> {
    match default {
        toml::Value::String(text) if text.is_empty() => None,
        toml::Value::String(text) => Some(format!("`{text}`")),
        toml::Value::Array(items) if items.is_empty() => None,
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(ToString::to_string).collect();
            Some(format!("`{}`", items.join(",")))
        }
        other => Some(format!("`{other}`")),
    }
}

async fn every_configuration_key_is_documented_with_its_default() {
    let defaults = toml::Value::try_from(tokenkeeper::config::Config::default()).unwrap();
    let mut keys = Vec::new();
    for (name, value) in defaults.as_table().unwrap() {
        match value.as_table() {
            Some(section) => keys.extend(section.iter().map(|(k, v)| (format!("{name}.{k}"), v))),
            None => keys.push((name.clone(), value)),
        }
    }
    assert!(keys.len() > 50, "{keys:?}");
    let table = rows(&doc("configuration.md"));
    let mut wrong = Vec::new();
    for (key, default) in keys {
        let row = table.iter().find(|cells| cells[0] == format!("`{key}`"));
        let Some(shown) = row.and_then(|cells| cells.get(1)) else {
            wrong.push(format!("{key}: no row"));
            continue;
        };
        let fits = match documented_default(default) {
            Some(value) => shown == &value,
            None => shown.starts_with("*(") && shown.ends_with(")*"),
        };
        if !fits {
            wrong.push(format!("{key}: documented {shown}, default {default}"));
        }
    }
    assert!(wrong.is_empty(), "docs/configuration.md: {wrong:#?}");
}
