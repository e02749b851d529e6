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
        .env("TOKENKEEPER_SCHEDULE__ENABLED", "false");
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
