//! Sealing and opening the token columns: what a store calls on every write and read of
//! `token` and `refresh_token`.

use super::keyring::{Key, KeyId, Keyring, KEYS_SETTING};
use super::plaintext::{Plaintext, ALLOW_PLAINTEXT_SETTING};
use super::stored::{format_v1, Stored, NONCE_LEN, TAG_LEN, VERSION_1};
use crate::domain::{AccessToken, ProviderName, RefreshToken, UserId};
use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The row a value belongs to, as the associated data names it: the table's natural key
/// `(user_id, network)`. The account id is not used, as it does not exist yet when the values
/// of an insert are sealed.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub network: &'a ProviderName,
    pub user_id: &'a UserId,
}

impl<'a> Row<'a> {
    pub fn new(network: &'a ProviderName, user_id: &'a UserId) -> Self {
        Self { network, user_id }
    }

    pub fn linkedin(user_id: &'a UserId) -> Self {
        Self::new(ProviderName::linkedin_ref(), user_id)
    }
}

/// The encrypted columns, by their names in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Token,
    RefreshToken,
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A secret type stored in one encrypted column. The column follows from the type, so a
/// caller cannot seal an access token as a refresh token by passing the wrong name.
pub trait SealedColumn: Sized {
    const COLUMN: Column;
    fn expose(&self) -> &str;
    fn from_opened(plaintext: String) -> Self;
}

impl SealedColumn for AccessToken {
    const COLUMN: Column = Column::Token;
    fn expose(&self) -> &str {
        AccessToken::expose(self)
    }
    fn from_opened(plaintext: String) -> Self {
        Self::new(plaintext)
    }
}

impl SealedColumn for RefreshToken {
    const COLUMN: Column = Column::RefreshToken;
    fn expose(&self) -> &str {
        RefreshToken::expose(self)
    }
    fn from_opened(plaintext: String) -> Self {
        Self::new(plaintext)
    }
}

/// Why a stored value gave no token. None of them is ever read as an empty or missing token:
/// the caller must surface it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("{column}: sealed under key id {kid:?}, which is not in {KEYS_SETTING}")]
    UnknownKey { column: Column, kid: String },
    #[error("{column}: the stored value does not authenticate under key id {kid:?}: it was not written for this account's {column}, or it was altered, or {kid:?} now names another key")]
    NotForThisRow { column: Column, kid: String },
    #[error("{column}: the stored value has the {VERSION_1} form but a malformed payload")]
    Malformed { column: Column },
    #[error("{column}: the stored value is in no format this version reads (a ':' says it is not a bare token)")]
    UnknownFormat { column: Column },
    #[error("{column}: the stored value is plaintext, not sealed, and {ALLOW_PLAINTEXT_SETTING} is false: it was written without the key, by a version before encryption or by someone with access to the database")]
    Unsealed { column: Column },
    #[error("{column}: the stored value is empty, which is no token")]
    Empty { column: Column },
}

/// How a value that opened was stored.
#[derive(Debug)]
enum Opened<T> {
    Sealed(T),
    /// Plaintext: from a version before encryption, or written by someone without the key.
    Legacy(T),
}

/// Seals and opens token columns with a keyring. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TokenCipher {
    keyring: Arc<Keyring>,
    /// `encryption.allow_plaintext` when it is set; otherwise the database decides.
    configured_plaintext: Option<Plaintext>,
}

impl TokenCipher {
    pub fn new(keyring: Keyring) -> Self {
        Self {
            keyring: Arc::new(keyring),
            configured_plaintext: None,
        }
    }

    /// The cipher with `encryption.allow_plaintext` as configured (`None`: not set).
    pub fn with_configured_plaintext(mut self, plaintext: Option<Plaintext>) -> Self {
        self.configured_plaintext = plaintext;
        self
    }

    /// `encryption.allow_plaintext` when it is set, which wins over what the database recorded.
    pub fn configured_plaintext(&self) -> Option<Plaintext> {
        self.configured_plaintext
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The stored text for `token` in `row`, under the active key and a fresh
    /// random nonce.
    pub fn seal<T: SealedColumn>(&self, row: Row<'_>, token: &T) -> String {
        let key = self.keyring.active();
        // 96 random bits per value: with the few million values a key seals between
        // rotations, the chance of a repeated nonce stays far below 2^-32.
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(&key.id, T::COLUMN, row);
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: token.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut payload = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&ciphertext);
        format_v1(key.id.as_str(), &URL_SAFE_NO_PAD.encode(payload))
    }

    /// The token sealed in `stored` for `row`. Plaintext is refused here.
    pub fn open<T: SealedColumn>(&self, row: Row<'_>, stored: &str) -> Result<T, OpenError> {
        self.read(row, stored, Plaintext::Refused)
    }

    /// The token `stored` holds for `row`: sealed, or bare where `plaintext` accepts it.
    pub fn read<T: SealedColumn>(
        &self,
        row: Row<'_>,
        stored: &str,
        plaintext: Plaintext,
    ) -> Result<T, OpenError> {
        match (self.open_or_legacy(row, stored)?, plaintext) {
            (Opened::Sealed(token), _) | (Opened::Legacy(token), Plaintext::Accepted) => Ok(token),
            (Opened::Legacy(_), Plaintext::Refused) => {
                Err(OpenError::Unsealed { column: T::COLUMN })
            }
        }
    }

    /// Like [`Self::open`], but a legacy plaintext value comes back marked as such. Only
    /// [`Self::read`] decides whether it may be used.
    fn open_or_legacy<T: SealedColumn>(
        &self,
        row: Row<'_>,
        stored: &str,
    ) -> Result<Opened<T>, OpenError> {
        let column = T::COLUMN;
        let (kid, payload) = match Stored::classify(stored) {
            Stored::Empty => return Err(OpenError::Empty { column }),
            Stored::Legacy(token) => return Ok(Opened::Legacy(T::from_opened(token.to_owned()))),
            Stored::Unreadable => return Err(OpenError::UnknownFormat { column }),
            Stored::SealedV1 { kid, payload } => (kid, payload),
        };
        let key = self.key(column, kid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| OpenError::Malformed { column })?;
        if payload.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed { column });
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_LEN);
        let aad = associated_data(&key.id, column, row);
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::NotForThisRow {
                column,
                kid: key.id.to_string(),
            })?;
        let plaintext = String::from_utf8(plaintext).map_err(|invalid| {
            // Only we write sealed values, always from a `&str`; wipe whatever this is.
            drop(Zeroizing::new(invalid.into_bytes()));
            OpenError::Malformed { column }
        })?;
        Ok(Opened::Sealed(T::from_opened(plaintext)))
    }

    /// Whether the rotation must rewrite `stored`: plaintext, another key, or a form this
    /// version cannot read (so the rotation visits it and reports it).
    pub fn needs_rotation(&self, stored: &str) -> bool {
        !matches!(
            Stored::classify(stored),
            Stored::SealedV1 { kid, .. } if kid == self.keyring.active_id().as_str()
        )
    }

    /// The new stored text for `stored` under the active key, or `None` when it is already
    /// there. A value that cannot be opened is an error, never rewritten; so is plaintext
    /// that `plaintext` refuses, which sealing would turn into a trusted token.
    pub fn reseal<T: SealedColumn>(
        &self,
        row: Row<'_>,
        stored: &str,
        plaintext: Plaintext,
    ) -> Result<Option<String>, OpenError> {
        if !self.needs_rotation(stored) {
            return Ok(None);
        }
        let token: T = self.read(row, stored, plaintext)?;
        Ok(Some(self.seal(row, &token)))
    }

    fn key(&self, column: Column, kid: &str) -> Result<&Key, OpenError> {
        if KeyId::parse(kid).is_none() {
            return Err(OpenError::Malformed { column });
        }
        self.keyring.get(kid).ok_or_else(|| OpenError::UnknownKey {
            column,
            kid: kid.to_owned(),
        })
    }
}

/// Binds a ciphertext to its format, key, column and row, each field length-prefixed so no two
/// different tuples give the same bytes.
fn associated_data(kid: &KeyId, column: Column, row: Row<'_>) -> Vec<u8> {
    let fields = [
        VERSION_1,
        kid.as_str(),
        column.name(),
        row.network.as_str(),
        row.user_id.as_str(),
    ];
    let mut aad = Vec::with_capacity(fields.iter().map(|f| 4 + f.len()).sum());
    for field in fields {
        let len = u32::try_from(field.len()).expect("fields are bounded far below 4 GiB");
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad
}
