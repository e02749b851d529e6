use super::*;
use crate::domain::{AccessToken, RefreshToken, UserId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const TOKEN: &str = "AQXdSP_W41_UPs5ioT_t8HESyODB4FqbkJ8LrV_5mff4gPODzOYR";

/// The row of a host user on LinkedIn; leaked so tests can write `row("u-42")` inline.
fn row(user_id: &str) -> Row<'static> {
    Row::linkedin(Box::leak(Box::new(UserId::parse(user_id).unwrap())))
}

fn cipher(entries: &str, active: Option<&str>) -> TokenCipher {
    TokenCipher::new(Keyring::parse(entries, active).unwrap())
}

fn two_keys() -> TokenCipher {
    cipher(&format!("new:{KEY_B},old:{KEY_A}"), None)
}

#[test]
fn a_sealed_token_opens_for_its_own_row_and_column() {
    let cipher = two_keys();
    let u = row("u-42");
    let stored = cipher.seal(u, &AccessToken::new(TOKEN));
    assert!(stored.starts_with("tk1:new:"), "{stored}");
    assert!(!stored.contains(TOKEN));
    assert_eq!(
        cipher.open::<AccessToken>(u, &stored).unwrap().expose(),
        TOKEN
    );

    let stored = cipher.seal(u, &RefreshToken::new("refresh-secret"));
    let opened: RefreshToken = cipher.open(u, &stored).unwrap();
    assert_eq!(opened.expose(), "refresh-secret");
}

#[test]
fn every_seal_draws_a_fresh_nonce() {
    let cipher = two_keys();
    let u = row("u-42");
    let token = AccessToken::new(TOKEN);
    assert_ne!(cipher.seal(u, &token), cipher.seal(u, &token));
}

#[test]
fn a_value_copied_to_another_row_does_not_open() {
    let cipher = two_keys();
    let stored = cipher.seal(row("u-42"), &AccessToken::new(TOKEN));
    let refused = cipher
        .open::<AccessToken>(row("u-43"), &stored)
        .unwrap_err();
    assert_eq!(
        refused,
        OpenError::NotForThisRow {
            column: Column::Token,
            kid: "new".into()
        }
    );
    let message = refused.to_string();
    assert!(message.starts_with("token:"), "{message}");
    assert!(
        message.contains("not written for this account's token"),
        "{message}"
    );
}

#[test]
fn a_value_copied_to_the_other_column_does_not_open() {
    let cipher = two_keys();
    let u = row("u-42");
    let access = cipher.seal(u, &AccessToken::new(TOKEN));
    assert!(matches!(
        cipher.open::<RefreshToken>(u, &access),
        Err(OpenError::NotForThisRow {
            column: Column::RefreshToken,
            ..
        })
    ));
    let refresh = cipher.seal(u, &RefreshToken::new(TOKEN));
    assert!(matches!(
        cipher.open::<AccessToken>(u, &refresh),
        Err(OpenError::NotForThisRow {
            column: Column::Token,
            ..
        })
    ));
}

#[test]
fn a_user_id_that_prefixes_another_names_another_row() {
    // The whole user id is bound, not a prefix of it.
    let cipher = two_keys();
    let stored = cipher.seal(row("u-4"), &AccessToken::new(TOKEN));
    assert!(cipher.open::<AccessToken>(row("u-42"), &stored).is_err());
}

#[test]
fn any_altered_byte_fails_authentication() {
    let cipher = two_keys();
    let u = row("u-42");
    let stored = cipher.seal(u, &AccessToken::new(TOKEN));
    let payload = URL_SAFE_NO_PAD
        .decode(stored.strip_prefix("tk1:new:").unwrap())
        .unwrap();
    for index in 0..payload.len() {
        let mut altered = payload.clone();
        altered[index] ^= 0x01;
        let altered = format!("tk1:new:{}", URL_SAFE_NO_PAD.encode(&altered));
        assert!(
            matches!(
                cipher.open::<AccessToken>(u, &altered),
                Err(OpenError::NotForThisRow { .. })
            ),
            "byte {index}"
        );
    }
}

#[test]
fn a_value_relabelled_with_another_known_kid_does_not_open() {
    let cipher = two_keys();
    let u = row("u-42");
    let stored = cipher.seal(u, &AccessToken::new(TOKEN));
    let relabelled = stored.replacen("tk1:new:", "tk1:old:", 1);
    assert_eq!(
        cipher.open::<AccessToken>(u, &relabelled).unwrap_err(),
        OpenError::NotForThisRow {
            column: Column::Token,
            kid: "old".into()
        }
    );
}

#[test]
fn a_value_under_a_key_not_in_the_ring_names_that_key() {
    let u = row("u-42");
    let stored = cipher(&format!("gone:{KEY_A}"), None).seal(u, &AccessToken::new(TOKEN));
    let refused = two_keys().open::<AccessToken>(u, &stored).unwrap_err();
    assert_eq!(
        refused,
        OpenError::UnknownKey {
            column: Column::Token,
            kid: "gone".into()
        }
    );
    assert!(refused.to_string().contains("\"gone\""), "{refused}");
    assert!(refused.to_string().contains("encryption.keys"), "{refused}");
}

#[test]
fn short_or_garbled_payloads_are_malformed_not_empty_tokens() {
    let cipher = two_keys();
    let u = row("u-42");
    let short = format!("tk1:new:{}", URL_SAFE_NO_PAD.encode([0u8; 27]));
    for stored in [short.as_str(), "tk1:new:not*base64", "tk1:bad kid!:AAAA"] {
        assert_eq!(
            cipher.open::<AccessToken>(u, stored).unwrap_err(),
            OpenError::Malformed {
                column: Column::Token
            },
            "{stored}"
        );
    }
    assert_eq!(
        cipher.open::<AccessToken>(u, "tk9:new:AAAA").unwrap_err(),
        OpenError::UnknownFormat {
            column: Column::Token
        }
    );
}

#[test]
fn plaintext_is_read_only_where_it_is_accepted() {
    let cipher = two_keys();
    let u = row("u-42");
    let refused = OpenError::Unsealed {
        column: Column::Token,
    };
    assert_eq!(cipher.open::<AccessToken>(u, TOKEN).unwrap_err(), refused);
    assert_eq!(
        cipher
            .read::<AccessToken>(u, TOKEN, Plaintext::Refused)
            .unwrap_err(),
        refused
    );
    let read: AccessToken = cipher.read(u, TOKEN, Plaintext::Accepted).unwrap();
    assert_eq!(read.expose(), TOKEN);
    // A sealed value opens under either rule.
    let sealed = cipher.seal(u, &AccessToken::new(TOKEN));
    for plaintext in [Plaintext::Accepted, Plaintext::Refused] {
        let read: AccessToken = cipher.read(u, &sealed, plaintext).unwrap();
        assert_eq!(read.expose(), TOKEN);
    }
    // The refusal names the column and the setting, never the value.
    let message = refused.to_string();
    assert!(message.contains("encryption.allow_plaintext"), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
}

#[test]
fn an_empty_value_is_an_error_whatever_plaintext_is_allowed() {
    let cipher = two_keys();
    let u = row("u-42");
    for plaintext in [Plaintext::Accepted, Plaintext::Refused] {
        assert_eq!(
            cipher.read::<RefreshToken>(u, "", plaintext).unwrap_err(),
            OpenError::Empty {
                column: Column::RefreshToken
            }
        );
        assert!(cipher.reseal::<AccessToken>(u, "", plaintext).is_err());
    }
}

#[test]
fn only_values_under_the_active_key_are_left_alone_by_the_rotation() {
    let u = row("u-42");
    let old_ring = cipher(&format!("old:{KEY_A}"), None);
    let under_old = old_ring.seal(u, &AccessToken::new(TOKEN));

    let cipher = two_keys();
    let under_new = cipher.seal(u, &AccessToken::new(TOKEN));
    assert!(!cipher.needs_rotation(&under_new));
    assert!(cipher.needs_rotation(&under_old));
    assert!(cipher.needs_rotation(TOKEN));
    assert!(cipher.needs_rotation("tk2:new:AAAA"));

    let accepted = Plaintext::Accepted;
    assert_eq!(
        cipher
            .reseal::<AccessToken>(u, &under_new, accepted)
            .unwrap(),
        None
    );
    for stored in [under_old.as_str(), TOKEN] {
        let resealed = cipher
            .reseal::<AccessToken>(u, stored, accepted)
            .unwrap()
            .unwrap();
        assert!(!cipher.needs_rotation(&resealed));
        assert_eq!(
            cipher.open::<AccessToken>(u, &resealed).unwrap().expose(),
            TOKEN
        );
    }
}

#[test]
fn the_rotation_never_rewrites_a_value_it_cannot_open() {
    let u = row("u-42");
    let under_unknown = cipher(&format!("gone:{KEY_A}"), None).seal(u, &AccessToken::new(TOKEN));
    assert!(matches!(
        two_keys().reseal::<AccessToken>(u, &under_unknown, Plaintext::Accepted),
        Err(OpenError::UnknownKey { .. })
    ));
}

#[test]
fn the_rotation_never_seals_plaintext_that_is_refused() {
    // Sealing it would turn a value anyone could have written into a trusted token.
    let u = row("u-42");
    assert_eq!(
        two_keys()
            .reseal::<AccessToken>(u, TOKEN, Plaintext::Refused)
            .unwrap_err(),
        OpenError::Unsealed {
            column: Column::Token
        }
    );
}

#[test]
fn the_first_entry_encrypts_unless_active_key_names_another() {
    let entries = format!("new:{KEY_B},old:{KEY_A}");
    assert_eq!(cipher(&entries, None).keyring().active_id().as_str(), "new");
    let by_name = cipher(&entries, Some("old"));
    assert_eq!(by_name.keyring().active_id().as_str(), "old");
    let u = row("u-42");
    let stored = by_name.seal(u, &AccessToken::new(TOKEN));
    assert!(stored.starts_with("tk1:old:"));
    // Every key decrypts, whichever one encrypts.
    assert!(cipher(&entries, None)
        .open::<AccessToken>(u, &stored)
        .is_ok());
}

#[test]
fn entries_may_be_split_by_commas_or_lines_with_blanks_around_them() {
    let ring = Keyring::parse(&format!("\n a : {KEY_A} ,\nb:{KEY_B}\n"), None).unwrap();
    let kids: Vec<_> = ring.ids().map(KeyId::as_str).collect();
    assert_eq!(kids, ["a", "b"]);
    // Our generator writes standard base64; a url-safe or unpadded key is the same key.
    let url_safe = KEY_B.replace('/', "_").replace('+', "-");
    let unpadded = KEY_A.trim_end_matches('=');
    assert!(Keyring::parse(&format!("a:{url_safe},b:{unpadded}"), None).is_ok());
}

#[test]
fn keyring_errors_name_the_setting_and_never_the_key() {
    let short_key = "c2hvcnQta2V5LW1hdGVyaWFs"; // 18 bytes
    let cases = [
        ("", None, KeyringError::Empty),
        (" , \n", None, KeyringError::Empty),
        (KEY_A, None, KeyringError::NotAnEntry { position: 1 }),
        (
            &format!("a:{KEY_A},{KEY_B}") as &str,
            None,
            KeyringError::NotAnEntry { position: 2 },
        ),
        (
            &format!("{KEY_B}:a"),
            None,
            KeyringError::BadKeyId { position: 1 },
        ),
        (
            &format!("{}:{KEY_A}", "k".repeat(33)),
            None,
            KeyringError::BadKeyId { position: 1 },
        ),
        (
            &format!("k/1:{KEY_A}"),
            None,
            KeyringError::BadKeyId { position: 1 },
        ),
        (
            &format!("a:{short_key}"),
            None,
            KeyringError::WrongLength {
                kid: "a".into(),
                len: 18,
            },
        ),
        (
            "a:not base64!",
            None,
            KeyringError::NotBase64 { kid: "a".into() },
        ),
        (
            &format!("a:{KEY_A},a:{KEY_B}"),
            None,
            KeyringError::DuplicateKeyId { kid: "a".into() },
        ),
        (
            &format!("a:{KEY_A}"),
            Some("b"),
            KeyringError::ActiveKeyMissing { kid: "b".into() },
        ),
        (
            &format!("a:{KEY_A}"),
            Some(KEY_B),
            KeyringError::BadActiveKeyId,
        ),
    ];
    for (entries, active, expected) in cases {
        let refused = Keyring::parse(entries, active).unwrap_err();
        assert_eq!(refused, expected, "{entries:?}");
        let message = refused.to_string();
        let setting = if active.is_some() {
            "encryption.active_key"
        } else {
            "encryption.keys"
        };
        assert!(message.contains(setting), "{message}");
        for secret in [KEY_A, KEY_B, short_key, "not base64"] {
            assert!(!message.contains(secret), "{message}");
        }
    }
}

#[test]
fn debug_shows_the_kids_and_no_key() {
    let cipher = two_keys();
    for shown in [format!("{:?}", cipher.keyring()), format!("{cipher:?}")] {
        assert!(
            shown.contains("\"new\"") && shown.contains("\"old\""),
            "{shown}"
        );
        assert!(!shown.contains(KEY_A) && !shown.contains(KEY_B), "{shown}");
        // Nor the raw bytes, in any of Debug's renderings of an array.
        assert!(
            !shown.contains("[0, 1, 2") && !shown.contains("32, 33, 34"),
            "{shown}"
        );
    }
}

#[test]
fn a_generated_entry_is_a_dated_kid_and_a_usable_key() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T18:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let first = new_entry(now);
    let second = new_entry(now);
    assert_ne!(*first, *second);
    let ring = Keyring::parse(&first, None).unwrap();
    let kid = ring.active_id().as_str();
    let suffix = kid.strip_prefix("20261125-").expect(kid);
    assert_eq!(suffix.len(), 6);
    assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{kid}");
    let both = Keyring::parse(&format!("{},{}", *first, *second), None);
    assert!(both.is_ok(), "two entries of one day must not share a kid");
}
