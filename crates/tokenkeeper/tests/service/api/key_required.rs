//! Commands that read or write tokens refuse to start without an encryption key, before they
//! open the database; the commands that touch no token run without one.

use crate::service_tests;
use std::process::Output;

/// Runs the real binary with a complete configuration except `encryption.keys`.
async fn without_key(args: &[&str], database: &std::path::Path) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(args)
        .env_clear()
        .env(
            "TOKENKEEPER_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
        .env("TOKENKEEPER_HTTP__BIND", "127.0.0.1:0")
        .env("TOKENKEEPER_SCHEDULE__ENABLED", "false")
        .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", "client-id")
        .env("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "client-secret-value")
        .env(
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "signing-key-0123456789abcdef0123456789",
        )
        .env("TOKENKEEPER_SMTP__HOST", "127.0.0.1")
        .env("TOKENKEEPER_SMTP__SECURITY", "none");
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

service_tests!(commands_that_touch_tokens_refuse_to_start_without_a_key);
async fn commands_that_touch_tokens_refuse_to_start_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("tk.db");
    for args in [
        &["serve"][..],
        &["sweep"],
        &["sweep", "--dry-run"],
        &["accounts"],
        &["notify", "send-pending"],
        &["keys", "rotate"],
    ] {
        let output = without_key(args, &database).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} started: {stderr}");
        assert!(stderr.contains("encryption.keys"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("TOKENKEEPER_ENCRYPTION__KEYS"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("`tokenkeeper keys generate`"),
            "{args:?}: {stderr}"
        );
        assert!(
            !database.exists(),
            "{args:?} opened the database before refusing"
        );
    }
}

service_tests!(commands_that_touch_no_token_need_no_key);
async fn commands_that_touch_no_token_need_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("tk.db");
    for args in [
        &["config"][..],
        &["keys", "generate"],
        &[
            "connect-link",
            "--user-id",
            "u-1",
            "--email",
            "u-1@example.com",
        ],
    ] {
        let output = without_key(args, &database).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
    }
}
