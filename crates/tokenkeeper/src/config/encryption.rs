//! The `[encryption]` section: the keyring that seals `token` and `refresh_token` at rest.
//!
//! The keys are optional here: `config`, `keys generate` and `connect-link` never touch a token
//! and run without them. Every command that reads or writes tokens asks for the cipher with
//! [`EncryptionSettings::cipher`] and stops, naming the setting, when there is none.

use super::error::{invalid, ConfigError};
use super::field::trimmed;
use crate::crypto::{Keyring, Plaintext, TokenCipher, ACTIVE_KEY_SETTING, KEYS_SETTING};
use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionSettings {
    /// Secret: `KID:BASE64KEY` entries; a TOML array, or one string of entries separated by
    /// commas or lines (as the environment variable and a pasted `keys.txt` give them).
    /// Printed as the key ids only.
    #[serde(deserialize_with = "entries", serialize_with = "key_ids")]
    keys: SecretString,
    /// Empty: the first entry encrypts.
    #[serde(deserialize_with = "trimmed")]
    active_key: String,
    /// `None` while not set: the database decides.
    #[serde(with = "allow_plaintext")]
    allow_plaintext: Option<bool>,
    /// Made from the keys when the section is checked; `None` without keys.
    #[serde(skip)]
    cipher: Option<TokenCipher>,
}

impl EncryptionSettings {
    /// The cipher of a command that reads or writes tokens. Without a key it refuses, with the
    /// setting to fill in and the command that makes a key.
    pub fn cipher(&self) -> Result<TokenCipher, ConfigError> {
        let cipher = self.cipher.clone().ok_or_else(|| {
            invalid(
                KEYS_SETTING,
                "no key is set, and this command reads or writes tokens, which are stored encrypted: \
                 set encryption.keys (TOKENKEEPER_ENCRYPTION__KEYS) to an entry that \
                 `tokenkeeper keys generate` prints",
            )
        })?;
        Ok(cipher.with_configured_plaintext(self.allow_plaintext.map(Plaintext::allowed)))
    }

    pub(super) fn check(&mut self) -> Result<(), ConfigError> {
        let entries = self.keys.expose_secret();
        if entries.trim().is_empty() {
            return match self.active_key.is_empty() {
                true => Ok(()),
                false => Err(invalid(
                    ACTIVE_KEY_SETTING,
                    format!("is set but {KEYS_SETTING} is empty"),
                )),
            };
        }
        let active = (!self.active_key.is_empty()).then_some(self.active_key.as_str());
        let keyring = Keyring::parse(entries, active).map_err(ConfigError::Keyring)?;
        self.cipher = Some(TokenCipher::new(keyring));
        Ok(())
    }
}

/// A list of entries, or one string of them, held as one text of comma-separated entries.
fn entries<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = SecretString;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of KID:BASE64KEY strings, or one string of them")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<SecretString, E> {
            Ok(text.into())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SecretString, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = seq.next_element::<String>()? {
                entries.push(entry);
            }
            Ok(entries.join(",").into())
        }
    }
    deserializer.deserialize_any(Entries)
}

/// Each entry as `KID:[redacted]`: its key never shows.
fn key_ids<S: Serializer>(entries: &SecretString, out: S) -> Result<S::Ok, S::Error> {
    out.collect_seq(
        entries
            .expose_secret()
            .split([',', '\n'])
            .filter_map(|entry| entry.split_once(':'))
            .map(|(kid, _)| format!("{}:[redacted]", kid.trim())),
    )
}

/// `encryption.allow_plaintext`: a TOML boolean, or text (`true`, `false`, or empty, the
/// default: not set, the database decides), as a variable gives it. Printed as the boolean it
/// is, or as empty text while not set.
mod allow_plaintext {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(setting: D) -> Result<Option<bool>, D::Error> {
        struct Setting;
        impl Visitor<'_> for Setting {
            type Value = Option<bool>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // "bool" makes the refusal read "expected true or false" (config/error.rs).
                f.write_str("a bool, or empty for the database's default")
            }
            fn visit_bool<E: de::Error>(self, allowed: bool) -> Result<Option<bool>, E> {
                Ok(Some(allowed))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<bool>, E> {
                match text.trim() {
                    "" => Ok(None),
                    "true" => Ok(Some(true)),
                    "false" => Ok(Some(false)),
                    other => Err(E::custom(format!("expected true or false (or empty, for this database's default), found {other:?}"))),
                }
            }
        }
        setting.deserialize_any(Setting)
    }

    pub fn serialize<S: Serializer>(setting: &Option<bool>, out: S) -> Result<S::Ok, S::Error> {
        match setting {
            Some(allowed) => out.serialize_bool(*allowed),
            None => out.serialize_str(""),
        }
    }
}
