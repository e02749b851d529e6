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
    wrong.extend(provider_keys_documented(&table));
    assert!(wrong.is_empty(), "docs/configuration.md: {wrong:#?}");
}

/// The keys of `[providers.NAME]`, documented as `providers.NAME.KEY`. Every key has a row; a
/// key whose value is the same for every kind that prints it (a provider of each kind, given
/// only what its kind requires) shows that value as its default; one that differs by kind, or
/// that a kind requires, shows a note in italics.
fn provider_keys_documented(table: &[Vec<String>]) -> Vec<String> {
    use tokenkeeper::config::ProviderSettings;
    use tokenkeeper::domain::{EnumText, ProviderKind};
    let required = |kind: ProviderKind| match kind {
        ProviderKind::Oidc => "issuer = \"https://id.example.com/\"\ndisplay_name = \"I\"\n",
        ProviderKind::OAuth2 => {
            "authorize_url = \"https://a.example.com/a\"\ntoken_url = \"https://a.example.com/t\"\n\
             display_name = \"A\"\n"
        }
        ProviderKind::X => "",
        _ => "client_secret = \"s\"\n",
    };
    let sections: String = ProviderKind::ALL
        .iter()
        .map(|kind| {
            format!(
                "[providers.p_{0}]\nkind = \"{0}\"\nclient_id = \"c\"\n{1}",
                kind.as_str(),
                required(*kind)
            )
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &sections).unwrap();
    let vars = [
        ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "c"),
        ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "s"),
        (
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "0123456789abcdef0123456789abcdef",
        ),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let config = tokenkeeper::config::Config::load_from(Some(file.path()), vars).unwrap();
    let printed = toml::Value::try_from(&config).unwrap();
    let given: toml::Value = toml::from_str(&sections).unwrap();
    let mut wrong = Vec::new();
    for key in ProviderSettings::keys() {
        let documented = format!("`providers.NAME.{key}`");
        let Some(shown) = table.iter().find(|cells| cells[0] == documented) else {
            wrong.push(format!("providers.NAME.{key}: no row"));
            continue;
        };
        let shown = shown.get(1).cloned().unwrap_or_default();
        let mut values = Vec::new();
        let mut set_by_some_kind = false;
        for (name, section) in printed["providers"].as_table().unwrap() {
            set_by_some_kind |= given["providers"][name].get(&key).is_some();
            values.extend(section.get(&key).cloned());
        }
        values.dedup();
        let single = match values.as_slice() {
            [value] if !set_by_some_kind => documented_default(value),
            _ => None,
        };
        let fits = match single {
            Some(value) => shown == value,
            None => shown.starts_with("*(") && shown.ends_with(")*"),
        };
        if !fits {
            wrong.push(format!(
                "providers.NAME.{key}: documented {shown}, printed {values:?}"
            ));
        }
    }
    wrong
}
