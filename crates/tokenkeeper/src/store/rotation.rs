//! What a store offers key rotation (`key_rotation/`): the sealed columns by batch, and their
//! rewrite under the version they were read at.

use super::StoreError;
use crate::crypto::{Plaintext, TokenCipher};
use async_trait::async_trait;

/// A row's encrypted columns as stored, with what the rewrite is checked against.
#[derive(Clone)]
pub struct SealedRow {
    pub id: i64,
    pub user_id: String,
    pub version: i64,
    pub token: String,
    pub refresh_token: Option<String>,
}

/// What a store offers the rotation.
#[async_trait]
pub trait KeyRotationStore: Send + Sync {
    /// The cipher the store seals and opens with.
    fn token_cipher(&self) -> &TokenCipher;

    /// Whether plaintext values are read as tokens, and so sealed. Where they are refused,
    /// sealing one would turn a value anyone could have written into a trusted token: such a
    /// row is reported instead.
    fn plaintext(&self) -> Plaintext;

    /// Up to `limit` rows with an id above `after_id`, by id.
    async fn sealed_rows(&self, after_id: i64, limit: i64) -> Result<Vec<SealedRow>, StoreError>;

    /// Replaces each row's two columns if it is still at the version it was read at, all of
    /// them in one transaction (one commit, one flush to disk, per batch); for each, `false`
    /// when it changed since. The version is left as it is: see the implementation.
    async fn write_resealed(&self, rows: &[Resealed<'_>]) -> Result<Vec<bool>, StoreError>;
}

/// A row read by the rotation, with its two values sealed under the active key.
pub struct Resealed<'a> {
    pub row: &'a SealedRow,
    pub token: String,
    pub refresh_token: Option<String>,
}
