//! `tokenkeeper admin hash-password` and the `[admin]` section, through the real binary: the
//! hash it prints is accepted, the password never shows, `config` redacts the hash, and a
//! malformed hash stops start-up with the key's name.

use crate::service_tests;
use std::io::Write;
use std::process::{Command, Stdio};

service_tests!(
    hash_password_prints_a_hash_of_the_piped_password_only,
    config_redacts_the_hash_and_serve_refuses_a_malformed_one,
);

const PASSWORD: &str = "piped operator password";

fn tokenkeeper() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command.env_clear();
    command
}

async fn hash_of(password: &str) -> std::process::Output {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = tokenkeeper()
            .args(["admin", "hash-password"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

async fn hash_password_prints_a_hash_of_the_piped_password_only() {
    let output = hash_of(PASSWORD).await;
    let (stdout, stderr) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    assert!(output.status.success(), "{stderr}");
    let hash = stdout.trim();
    assert!(hash.starts_with("$argon2id$"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "the hash alone: {stdout}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    let settings: tokenkeeper::config::AdminSettings = hash.try_into().unwrap();
    let hash = settings.password_hash.as_ref().unwrap();
    assert!(tokenkeeper::crypto::password_matches(hash, PASSWORD));
    assert!(!tokenkeeper::crypto::password_matches(
        hash,
        "piped operator"
    ));

    let empty = hash_of("").await;
    assert!(!empty.status.success());
}

async fn config_redacts_the_hash_and_serve_refuses_a_malformed_one() {
    let hash = crate::admin::admin_dashboard::admin_password_hash();
    let dir = tempfile::tempdir().unwrap();
    let run = |command: &str, hash: &str| {
        tokenkeeper()
            .arg(command)
            .env(
                "TOKENKEEPER_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("tk.db").display()),
            )
            .env(
                "TOKENKEEPER_ENCRYPTION__KEYS",
                crate::support::ENCRYPTION_KEYS,
            )
            .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", "client-id")
            .env("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "client-secret-value")
            .env(
                "TOKENKEEPER_CONNECT__SIGNING_KEY",
                "signing-key-0123456789abcdef0123456789",
            )
            .env("TOKENKEEPER_ADMIN__PASSWORD_HASH", hash)
            .output()
            .unwrap()
    };
    let shown = run("config", &hash);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(
        text.contains("[admin]\npassword_hash = \"[redacted]\""),
        "{text}"
    );
    assert!(!text.contains(&hash[10..]), "{text}");

    // Start-up loads the configuration as `config` does; `config` is asked so that a hash
    // wrongly accepted cannot leave a server running.
    let refused = run("config", "$argon2id$v=19$not-a-hash");
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(error.contains("admin.password_hash"), "{error}");
    assert!(error.contains("tokenkeeper admin hash-password"), "{error}");
    assert!(!error.contains("not-a-hash"), "{error}");
}
