//! `tokenkeeper keys generate` run as the real binary: its stdout is one entry that the keyring
//! accepts, so `>> keys.txt` collects usable entries, and the advice stays on stderr.

use crate::service_tests;
use std::process::Output;
use tokenkeeper::crypto::{Keyring, Row, TokenCipher};
use tokenkeeper::domain::{AccessToken, UserId};

/// Runs the binary with no configuration at all: making a key must not need one.
async fn keys_generate() -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command.args(["keys", "generate"]).env_clear();
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

service_tests!(keys_generate_prints_one_entry_the_keyring_accepts);
async fn keys_generate_prints_one_entry_the_keyring_accepts() {
    let output = keys_generate().await;
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");

    let entry = stdout.strip_suffix('\n').expect("the entry ends its line");
    assert!(
        !entry.contains('\n'),
        "stdout holds the entry alone: {stdout:?}"
    );
    let ring = Keyring::parse(entry, None).unwrap();
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert!(ring.active_id().as_str().starts_with(&today), "{entry}");

    // The key works: a token sealed with it opens again.
    let cipher = TokenCipher::new(ring);
    let user = UserId::parse("u-1").unwrap();
    let stored = cipher.seal(Row::linkedin(&user), &AccessToken::new("AQX-token"));
    let opened: AccessToken = cipher.open(Row::linkedin(&user), &stored).unwrap();
    assert_eq!(opened.expose(), "AQX-token");

    let (_, key) = entry.split_once(':').unwrap();
    assert!(stderr.contains("encryption.keys"), "{stderr}");
    assert!(
        !stderr.contains(key),
        "the key reaches stdout only: {stderr}"
    );
}

service_tests!(two_generated_entries_make_one_keyring);
async fn two_generated_entries_make_one_keyring() {
    let (first, second) = tokio::join!(keys_generate(), keys_generate());
    let collected = format!(
        "{}{}",
        String::from_utf8(first.stdout).unwrap(),
        String::from_utf8(second.stdout).unwrap()
    );
    // What `>> keys.txt` twice leaves behind, read back as the setting's text.
    let ring = Keyring::parse(&collected, None).unwrap();
    assert_eq!(ring.ids().count(), 2, "{ring:?}");
}
