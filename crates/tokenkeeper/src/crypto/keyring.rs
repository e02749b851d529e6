//! The keys that seal tokens at rest: one encrypts new values, every one of them decrypts, so a
//! new key can be added everywhere before it becomes the active one and an old key can stay
//! until the rotation has moved every value off it.

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::fmt;
use zeroize::Zeroizing;

/// The setting that holds the entries, as named in every message about them.
pub const KEYS_SETTING: &str = "encryption.keys";
/// The optional setting that picks the encrypting key by its id.
pub const ACTIVE_KEY_SETTING: &str = "encryption.active_key";

/// A key's name, written in clear in every value it seals so a reader knows which key opens it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub const MAX_LEN: usize = 32;

    /// Letters, digits, `-`, `_` and `.`: never `:` (it separates the fields of a stored value)
    /// nor `,` (it separates the entries of the setting).
    pub fn parse(raw: &str) -> Option<Self> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        (!raw.is_empty() && raw.len() <= Self::MAX_LEN && raw.chars().all(allowed))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a keyring was refused. No variant carries key material: where an entry is malformed
/// its text may be a key, so it is named by position only.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("{KEYS_SETTING} is empty: it needs at least one KID:BASE64KEY entry (`tokenkeeper keys generate` prints one)")]
    Empty,
    #[error(
        "{KEYS_SETTING}: entry {position} is not KID:BASE64KEY (entries are separated by commas)"
    )]
    NotAnEntry { position: usize },
    #[error("{KEYS_SETTING}: entry {position} has an invalid key id: it must be 1 to {max} letters, digits, '-', '_' or '.'", max = KeyId::MAX_LEN)]
    BadKeyId { position: usize },
    #[error("{KEYS_SETTING}: the key of {kid:?} is not valid base64")]
    NotBase64 { kid: String },
    #[error("{KEYS_SETTING}: the key of {kid:?} is {len} bytes after base64 decoding; AES-256 needs exactly 32")]
    WrongLength { kid: String, len: usize },
    #[error("{KEYS_SETTING}: key id {kid:?} appears more than once")]
    DuplicateKeyId { kid: String },
    #[error("{ACTIVE_KEY_SETTING} {kid:?} is not one of the key ids in {KEYS_SETTING}")]
    ActiveKeyMissing { kid: String },
    /// Not echoed: a value that cannot be a key id may be a key pasted into the wrong setting.
    #[error("{ACTIVE_KEY_SETTING} is not a key id: it must be 1 to {max} letters, digits, '-', '_' or '.'", max = KeyId::MAX_LEN)]
    BadActiveKeyId,
}

/// One usable key: its id and the AES key schedule built from it (wiped when dropped).
pub(super) struct Key {
    pub(super) id: KeyId,
    pub(super) cipher: Aes256Gcm,
}

/// Every configured key, and which one encrypts.
pub struct Keyring {
    keys: Vec<Key>,
    active: usize,
}

impl Keyring {
    /// Parses the text of `encryption.keys` (`KID:BASE64KEY` entries separated by commas or
    /// newlines, blanks around them ignored) and the optional `encryption.active_key`; without
    /// it the first entry encrypts.
    pub fn parse(entries: &str, active_key: Option<&str>) -> Result<Self, KeyringError> {
        let mut keys: Vec<Key> = Vec::new();
        let texts = entries
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        for (index, entry) in texts.enumerate() {
            let position = index + 1;
            let (kid, encoded) = entry
                .split_once(':')
                .ok_or(KeyringError::NotAnEntry { position })?;
            let id = KeyId::parse(kid.trim()).ok_or(KeyringError::BadKeyId { position })?;
            if keys.iter().any(|key| key.id == id) {
                return Err(KeyringError::DuplicateKeyId { kid: id.0 });
            }
            let cipher = cipher_from_base64(&id, encoded.trim())?;
            keys.push(Key { id, cipher });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        let active = match active_key.map(str::trim).filter(|kid| !kid.is_empty()) {
            None => 0,
            Some(kid) => {
                let kid = KeyId::parse(kid).ok_or(KeyringError::BadActiveKeyId)?;
                keys.iter()
                    .position(|key| key.id == kid)
                    .ok_or(KeyringError::ActiveKeyMissing { kid: kid.0 })?
            }
        };
        Ok(Self { keys, active })
    }

    /// The key that seals new values.
    pub fn active_id(&self) -> &KeyId {
        &self.keys[self.active].id
    }

    pub fn ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|key| &key.id)
    }

    pub(super) fn active(&self) -> &Key {
        &self.keys[self.active]
    }

    pub(super) fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|key| key.id.as_str() == kid)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active_id().as_str())
            .field("kids", &self.ids().map(KeyId::as_str).collect::<Vec<_>>())
            .finish()
    }
}

/// Key material comes from `openssl rand -base64 32` as often as from our own generator, so
/// both alphabets are accepted, padded or not.
fn cipher_from_base64(kid: &KeyId, encoded: &str) -> Result<Aes256Gcm, KeyringError> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let decoded = [alphabet::STANDARD, alphabet::URL_SAFE]
        .iter()
        .find_map(|alphabet| GeneralPurpose::new(alphabet, config).decode(encoded).ok())
        .map(Zeroizing::new)
        .ok_or_else(|| KeyringError::NotBase64 { kid: kid.0.clone() })?;
    Aes256Gcm::new_from_slice(&decoded).map_err(|_| KeyringError::WrongLength {
        kid: kid.0.clone(),
        len: decoded.len(),
    })
}

/// The standard base64 of 32 random bytes (for tests and `keys generate`).
pub(super) fn encode_key(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
