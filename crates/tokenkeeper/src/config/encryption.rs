//! The `[encryption]` section: the keyring that seals `token` and `refresh_token` at rest.
//!
//! The keys are optional here: `config`, `keys generate` and `connect-link` never touch a token
//! and run without them. Every command that reads or writes tokens asks for the cipher with
//! [`EncryptionSettings::cipher`] and stops, naming the setting, when there is none.

use super::error::{invalid, ConfigError};
use crate::crypto::{
    Keyring, Plaintext, TokenCipher, ACTIVE_KEY_SETTING, ALLOW_PLAINTEXT_SETTING, KEYS_SETTING,
};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawEncryption {
    /// Secret: `KID:BASE64KEY` entries.
    pub keys: KeyEntries,
    /// Empty: the first entry encrypts.
    pub active_key: String,
    /// Empty: as the database recorded when this version first migrated it.
    pub allow_plaintext: AllowPlaintext,
}

/// `encryption.allow_plaintext` as written: a TOML boolean, or text (`true`, `false`, or
/// empty, the default: not set, the database decides), as a variable gives it. Checked when the
/// section is, so a wrong value is named with the variable or file that set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowPlaintext(pub String);

impl AllowPlaintext {
    fn parse(&self) -> Result<Option<bool>, ConfigError> {
        match self.0.trim() {
            "" => Ok(None),
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(invalid(
                ALLOW_PLAINTEXT_SETTING,
                format!("expected true or false (or empty, for this database's default), found {other:?}"),
            )),
        }
    }
}

/// Printed as the boolean it is, or as empty text while not set.
impl Serialize for AllowPlaintext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.parse() {
            Ok(Some(allowed)) => serializer.serialize_bool(allowed),
            _ => serializer.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for AllowPlaintext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Setting;
        impl Visitor<'_> for Setting {
            type Value = AllowPlaintext;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // "bool" makes the refusal read "expected true or false" (config/error.rs).
                f.write_str("a bool, or empty for the database's default")
            }
            fn visit_bool<E: de::Error>(self, allowed: bool) -> Result<AllowPlaintext, E> {
                Ok(AllowPlaintext(allowed.to_string()))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<AllowPlaintext, E> {
                Ok(AllowPlaintext(text.to_owned()))
            }
        }
        deserializer.deserialize_any(Setting)
    }
}

/// The entries of `encryption.keys`: a TOML array, or one string of entries separated by commas
/// or lines (as the environment variable and a pasted `keys.txt` give them).
#[derive(Clone, Default, Serialize)]
#[serde(transparent)]
pub struct KeyEntries(pub Vec<String>);

/// Never prints an entry: each one holds a key.
impl fmt::Debug for KeyEntries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyEntries({} entries)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for KeyEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = KeyEntries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of KID:BASE64KEY strings, or one string of them")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<KeyEntries, E> {
                Ok(KeyEntries(vec![text.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element::<String>()? {
                    entries.push(entry);
                }
                Ok(KeyEntries(entries))
            }
        }
        deserializer.deserialize_any(Entries)
    }
}

#[derive(Debug, Clone, Default)]
pub struct EncryptionSettings {
    /// `None` when `encryption.keys` is empty.
    cipher: Option<TokenCipher>,
    /// As configured: empty when the first entry encrypts.
    active_key: String,
    /// `None` while not set: the database decides.
    allow_plaintext: Option<bool>,
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
}

impl TryFrom<RawEncryption> for EncryptionSettings {
    type Error = ConfigError;

    fn try_from(raw: RawEncryption) -> Result<Self, ConfigError> {
        let entries = raw.keys.0.join(",");
        let active_key = raw.active_key.trim().to_owned();
        let allow_plaintext = raw.allow_plaintext.parse()?;
        if entries.trim().is_empty() {
            if !active_key.is_empty() {
                return Err(invalid(
                    ACTIVE_KEY_SETTING,
                    format!("is set but {KEYS_SETTING} is empty"),
                ));
            }
            return Ok(Self {
                allow_plaintext,
                ..Self::default()
            });
        }
        let active = (!active_key.is_empty()).then_some(active_key.as_str());
        let keyring = Keyring::parse(&entries, active).map_err(ConfigError::Keyring)?;
        Ok(Self {
            cipher: Some(TokenCipher::new(keyring)),
            active_key,
            allow_plaintext,
        })
    }
}

/// The section as printed: key ids only, each key replaced by a marker.
impl From<&EncryptionSettings> for RawEncryption {
    fn from(settings: &EncryptionSettings) -> Self {
        let keys = settings
            .cipher
            .iter()
            .flat_map(|cipher| cipher.keyring().ids())
            .map(|kid| format!("{kid}:[redacted]"))
            .collect();
        Self {
            keys: KeyEntries(keys),
            active_key: settings.active_key.clone(),
            allow_plaintext: AllowPlaintext(
                settings
                    .allow_plaintext
                    .map_or_else(String::new, |allowed| allowed.to_string()),
            ),
        }
    }
}
