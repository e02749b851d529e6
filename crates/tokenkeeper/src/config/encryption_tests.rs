//! The `[encryption]` section as each layer writes it, and as `tokenkeeper config` prints it.

use super::tests::{file, load, load_file};
use super::*;
use crate::crypto::Plaintext;

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

fn kids(config: &Config) -> (Vec<String>, String) {
    let cipher = config.encryption.cipher().expect("a key is set");
    let ring = cipher.keyring();
    (
        ring.ids().map(|kid| kid.to_string()).collect(),
        ring.active_id().to_string(),
    )
}

#[test]
fn the_environment_gives_entries_separated_by_commas() {
    let keys = format!("a:{KEY_A}, b:{KEY_B}");
    let config = load(&[("TOKENKEEPER_ENCRYPTION__KEYS", &keys)]).unwrap();
    assert_eq!(kids(&config), (vec!["a".into(), "b".into()], "a".into()));

    let config = load(&[
        ("TOKENKEEPER_ENCRYPTION__KEYS", &keys),
        ("TOKENKEEPER_ENCRYPTION__ACTIVE_KEY", "b"),
    ])
    .unwrap();
    assert_eq!(kids(&config).1, "b");
}

#[test]
fn the_file_gives_an_array_or_one_string_of_entries() {
    let array = file(&format!(
        "[encryption]\nkeys = [\"a:{KEY_A}\", \"b:{KEY_B}\"]\nactive_key = \"b\"\n"
    ));
    let config = load_file(Some(array.path()), &[]).unwrap();
    assert_eq!(kids(&config), (vec!["a".into(), "b".into()], "b".into()));

    let lines = file(&format!(
        "[encryption]\nkeys = \"\"\"\na:{KEY_A}\nb:{KEY_B}\n\"\"\"\n"
    ));
    let config = load_file(Some(lines.path()), &[]).unwrap();
    assert_eq!(kids(&config), (vec!["a".into(), "b".into()], "a".into()));
}

#[test]
fn without_keys_the_configuration_loads_but_gives_no_cipher() {
    let config = load(&[]).unwrap();
    let refusal = config.encryption.cipher().unwrap_err().to_string();
    assert!(refusal.contains("encryption.keys"), "{refusal}");
    assert!(
        refusal.contains("TOKENKEEPER_ENCRYPTION__KEYS"),
        "{refusal}"
    );
    assert!(refusal.contains("tokenkeeper keys generate"), "{refusal}");
}

#[test]
fn a_malformed_keyring_stops_loading_without_showing_a_key() {
    let short = "c2hvcnQ=";
    for (keys, named) in [
        (format!("a:{short}"), "32"),
        (format!("a:{KEY_A},{KEY_B}"), "entry 2"),
        (format!("a:{KEY_A},a:{KEY_B}"), "more than once"),
    ] {
        let err = load(&[("TOKENKEEPER_ENCRYPTION__KEYS", &keys)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("encryption.keys"), "{err}");
        assert!(err.contains(named), "{err}");
        assert!(!err.contains(KEY_B) && !err.contains(short), "{err}");
    }
    let err = load(&[
        ("TOKENKEEPER_ENCRYPTION__KEYS", &format!("a:{KEY_A}")),
        ("TOKENKEEPER_ENCRYPTION__ACTIVE_KEY", "z"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("encryption.active_key"), "{err}");
    let err = load(&[("TOKENKEEPER_ENCRYPTION__ACTIVE_KEY", "a")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("encryption.active_key"), "{err}");
}

#[test]
fn printed_configuration_names_key_ids_only() {
    let keys = format!("a:{KEY_A},b:{KEY_B}");
    let config = load(&[
        ("TOKENKEEPER_ENCRYPTION__KEYS", &keys),
        ("TOKENKEEPER_ENCRYPTION__ACTIVE_KEY", "b"),
    ])
    .unwrap();
    let shown = config.redacted_toml();
    assert!(!shown.contains(KEY_A) && !shown.contains(KEY_B), "{shown}");
    assert!(shown.contains("\"a:[redacted]\""), "{shown}");
    assert!(shown.contains("\"b:[redacted]\""), "{shown}");
    assert!(shown.contains("active_key = \"b\""), "{shown}");
    let debugged = format!("{config:?}");
    assert!(!debugged.contains(KEY_A) && !debugged.contains(KEY_B));
}

#[test]
fn allow_plaintext_is_unset_by_default_and_true_or_false_from_either_layer() {
    let keys = format!("a:{KEY_A}");
    let configured = |config: &Config| config.encryption.cipher().unwrap().configured_plaintext();
    let config = load(&[("TOKENKEEPER_ENCRYPTION__KEYS", &keys)]).unwrap();
    assert_eq!(configured(&config), None, "the database decides");
    assert!(config.redacted_toml().contains("allow_plaintext = \"\""));

    for (text, expected) in [("true", Plaintext::Accepted), ("false", Plaintext::Refused)] {
        let config = load(&[
            ("TOKENKEEPER_ENCRYPTION__KEYS", &keys),
            ("TOKENKEEPER_ENCRYPTION__ALLOW_PLAINTEXT", text),
        ])
        .unwrap();
        assert_eq!(configured(&config), Some(expected), "{text}");
        assert!(config
            .redacted_toml()
            .contains(&format!("allow_plaintext = {text}\n")));

        let toml = file(&format!("[encryption]\nallow_plaintext = {text}\n"));
        let config = load_file(
            Some(toml.path()),
            &[("TOKENKEEPER_ENCRYPTION__KEYS", &keys)],
        )
        .unwrap();
        assert_eq!(configured(&config), Some(expected), "{text} in a file");
    }
}

#[test]
fn allow_plaintext_is_printed_as_set_even_without_keys() {
    // `config` runs without a key; it still shows what the commands that have one will do.
    let config = load(&[("TOKENKEEPER_ENCRYPTION__ALLOW_PLAINTEXT", "false")]).unwrap();
    let shown = config.redacted_toml();
    assert!(shown.contains("allow_plaintext = false\n"), "{shown}");
}

#[test]
fn allow_plaintext_other_than_true_or_false_is_refused_by_name() {
    let err = load(&[("TOKENKEEPER_ENCRYPTION__ALLOW_PLAINTEXT", "yes")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`encryption.allow_plaintext`"), "{err}");
    assert!(err.contains("true or false"), "{err}");
    assert!(
        err.contains("TOKENKEEPER_ENCRYPTION__ALLOW_PLAINTEXT"),
        "{err}"
    );

    let toml = file("[encryption]\nallow_plaintext = 1\n");
    let err = load_file(Some(toml.path()), &[]).unwrap_err().to_string();
    assert!(err.contains("`encryption.allow_plaintext`"), "{err}");
    assert!(err.contains("expected true or false"), "{err}");
}
