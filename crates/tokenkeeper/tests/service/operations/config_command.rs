//! `tokenkeeper config` and the commands that log never show a database password, whether it
//! sits in the URL's userinfo or in its query. The real binary is run and its output read.

use crate::{backend_tests, service_tests};
use std::process::Output;
use test_databases::{Backend, TestDatabase};

/// Runs the built binary with exactly these variables (no TOKENKEEPER_* from outside).
async fn tokenkeeper(args: &[&str], database_url: &str) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(args)
        .env_clear()
        .env("TOKENKEEPER_DATABASE_URL", database_url)
        .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", "client-id")
        .env("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "client-secret-value")
        .env(
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "signing-key-0123456789abcdef0123456789",
        )
        .env("TOKENKEEPER_LOG__LEVEL", "debug")
        .env("TOKENKEEPER_SCHEDULE__ENABLED", "false")
        .env(
            "TOKENKEEPER_ENCRYPTION__KEYS",
            crate::support::ENCRYPTION_KEYS,
        );
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

fn shown(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Puts a password in the userinfo and secrets in the query of `url`.
fn with_secrets(url: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_password(Some("userinfo-hunter2")).unwrap();
    url.set_query(Some(
        "sslmode=disable&password=query-hunter2&sslpassword=ssl-hunter2&auth_token=token-hunter2",
    ));
    url.to_string()
}

service_tests!(config_prints_no_database_password);
async fn config_prints_no_database_password() {
    let url = with_secrets("postgres://tk@db.example.com:5432/tk");
    let output = tokenkeeper(&["config"], &url).await;
    let text = shown(&output);
    assert!(output.status.success(), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("client-secret-value"), "{text}");
    assert!(
        text.contains(
            "postgres://tk:redacted@db.example.com:5432/tk?sslmode=disable&password=redacted&"
        ),
        "{text}"
    );
}

backend_tests!(only [Postgres]: commands_that_open_the_database_log_no_password);
async fn commands_that_open_the_database_log_no_password(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    // The test server trusts local connections, so the passwords are carried but not needed.
    let url = with_secrets(&db.url);
    for args in [&["migrate"][..], &["sweep", "--dry-run"]] {
        let output = tokenkeeper(args, &url).await;
        let text = shown(&output);
        assert!(output.status.success(), "{args:?}: {text}");
        assert!(!text.contains("hunter2"), "{args:?}: {text}");
    }
}

/// Runs the built binary with only `vars` set, from `--config file` when given.
async fn bare(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .kill_on_drop(true);
    // A guard, not a measure: a command that starts despite a missing key (`serve` would
    // run until stopped) fails the test instead of hanging it.
    tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("tokenkeeper {args:?} did not exit"))
        .expect("the binary runs")
}

/// Every key of the configuration, `section.key`, as the defaults hold them.
fn every_key() -> Vec<String> {
    let defaults = toml::Value::try_from(tokenkeeper::config::Config::default()).unwrap();
    let mut keys = Vec::new();
    for (name, value) in defaults.as_table().unwrap() {
        match value.as_table() {
            Some(section) => keys.extend(section.keys().map(|key| format!("{name}.{key}"))),
            None => keys.push(name.clone()),
        }
    }
    keys
}

/// `key -> the comment after its value`, from the lines `tokenkeeper config` prints.
fn printed_origins(stdout: &str) -> std::collections::BTreeMap<String, String> {
    let mut section = String::new();
    let mut origins = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = format!("{name}.");
        } else if let Some((name, rest)) = line.split_once(" = ") {
            let (_, origin) = rest.rsplit_once("  # ").expect("each key says its origin");
            origins.insert(format!("{section}{name}"), origin.to_owned());
        }
    }
    origins
}

const REQUIRED: [&str; 3] = [
    "linkedin.client_id",
    "linkedin.client_secret",
    "connect.signing_key",
];

service_tests!(config_without_settings_prints_every_key_and_names_every_missing_one);
async fn config_without_settings_prints_every_key_and_names_every_missing_one() {
    let output = bare(&["config"], &[]).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!output.status.success(), "{stdout}{stderr}");
    // What it prints is TOML a file can start from.
    toml::from_str::<toml::Table>(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let origins = printed_origins(&stdout);
    assert_eq!(
        origins.keys().collect::<Vec<_>>(),
        every_key()
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "{stdout}"
    );
    for (key, origin) in &origins {
        if REQUIRED.contains(&key.as_str()) {
            assert!(origin.starts_with("MISSING"), "{key}: {origin}");
        } else {
            assert_eq!(origin, "default", "{key}");
        }
    }
    // One message names them all.
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    for key in REQUIRED {
        assert!(stderr.contains(&format!("`{key}`")), "{key}: {stderr}");
    }
}

service_tests!(config_says_which_value_comes_from_the_file_a_variable_or_the_default);
async fn config_says_which_value_comes_from_the_file_a_variable_or_the_default() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"[http]\nbind = \"127.0.0.1:9999\"\n").unwrap();
    let path = file.path().to_str().unwrap();
    let output = bare(
        &["config", "--config", path],
        &[
            ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "client-id"),
            ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "client-secret-value"),
            ("TOKENKEEPER_CONNECT__SIGNING_KEY", &"k".repeat(32)),
        ],
    )
    .await;
    let text = shown(&output);
    assert!(output.status.success(), "{text}");
    assert!(!text.contains("client-secret-value"), "{text}");
    let origins = printed_origins(&text);
    assert_eq!(origins["http.bind"], path, "{text}");
    assert_eq!(
        origins["linkedin.client_secret"],
        "TOKENKEEPER_LINKEDIN__CLIENT_SECRET"
    );
    assert_eq!(origins["smtp.port"], "default");
    assert!(text.contains("bind = \"127.0.0.1:9999\"  # "), "{text}");
}

service_tests!(commands_name_every_missing_required_key_at_once);
async fn commands_name_every_missing_required_key_at_once() {
    for args in [&["serve"][..], &["sweep", "--dry-run"], &["doctor"]] {
        let output = bare(args, &[("TOKENKEEPER_LINKEDIN__CLIENT_ID", "client-id")]).await;
        let text = shown(&output);
        assert!(!output.status.success(), "{args:?}: {text}");
        for key in &REQUIRED[1..] {
            assert!(text.contains(&format!("`{key}`")), "{args:?} {key}: {text}");
        }
        assert!(!text.contains("`linkedin.client_id`"), "{args:?}: {text}");
    }
}
