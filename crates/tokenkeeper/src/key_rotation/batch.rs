//! One batch of the rotation: every `token` and `refresh_token` not sealed under the active
//! key (plaintext from versions before encryption included, where plaintext is accepted) is
//! opened and sealed again, online. The ciphertext stays inside this module and the store;
//! callers see counts.

use crate::crypto::{is_plaintext, OpenError, Plaintext, Row, TokenCipher};
use crate::domain::{AccessToken, RefreshToken, UserId};
use crate::store::{KeyRotationStore, Resealed, SealedRow, StoreError};

/// What a rotation did, batch after batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationSummary {
    /// Rows rewritten under the active key.
    pub rotated: u64,
    /// Rows whose values were under the active key already.
    pub already_current: u64,
    /// Rows written by someone else between the read and the rewrite (a refresh, a new link):
    /// left as they are; a second run takes them if they still need it.
    pub changed_concurrently: u64,
    /// Rows whose values do not open (altered, copied from another row, malformed): left
    /// as they are, and named in `failures`.
    pub failed: u64,
    /// The first failures, by account id (never a value).
    pub failures: Vec<(i64, String)>,
    /// Rows that held plaintext and were sealed (counted in `rotated` too).
    pub plaintext_sealed: u64,
    /// Rows that hold plaintext still: refused, or failed for another reason (counted in
    /// `failed` too).
    pub plaintext_left: u64,
}

/// How many failures the summary names; the rest are counted only.
const NAMED_FAILURES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The keyring lacks a key that sealed stored values: nothing can be done for them, and
    /// removing a key before its values moved off it is the mistake to stop at.
    #[error("account {id}: {source}")]
    UnknownKey { id: i64, source: OpenError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rotates the rows after `after_id`, at most `limit` of them, into `summary`. Returns the
/// last id read, or `None` when there were no more rows.
pub async fn rotate_batch(
    store: &dyn KeyRotationStore,
    after_id: i64,
    limit: i64,
    summary: &mut RotationSummary,
) -> Result<Option<i64>, RotationError> {
    let rows = store.sealed_rows(after_id, limit).await?;
    let Some(last) = rows.last().map(|row| row.id) else {
        return Ok(None);
    };
    let cipher = store.token_cipher();
    let plaintext = store.plaintext();
    let mut writes = Vec::new();
    let mut unknown_key = None;
    for row in &rows {
        match resealed(cipher, plaintext, row) {
            Ok(None) => summary.already_current += 1,
            Ok(Some((token, refresh_token))) => writes.push(Resealed {
                row,
                token,
                refresh_token,
            }),
            Err(Unrotatable::Open(source @ OpenError::UnknownKey { .. })) => {
                unknown_key = Some(RotationError::UnknownKey { id: row.id, source });
                break;
            }
            Err(error) => {
                summary.failed += 1;
                if holds_plaintext(row) {
                    summary.plaintext_left += 1;
                }
                if summary.failures.len() < NAMED_FAILURES {
                    summary.failures.push((row.id, error.to_string()));
                }
            }
        }
    }
    // The rows before a key the keyring lacks are written all the same: a run after the key
    // is added starts where this one stopped.
    if !writes.is_empty() {
        let written = store.write_resealed(&writes).await?;
        for (write, written) in writes.iter().zip(written) {
            match written {
                true => summary.rotated += 1,
                false => summary.changed_concurrently += 1,
            }
            // A row written meanwhile holds what its writer sealed.
            if written && holds_plaintext(write.row) {
                summary.plaintext_sealed += 1;
            }
        }
    }
    if let Some(error) = unknown_key {
        return Err(error);
    }
    Ok(Some(last))
}

/// Why one row cannot be rotated.
#[derive(Debug, thiserror::Error)]
enum Unrotatable {
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Its values were sealed for the user id, so they cannot be opened without one.
    #[error("user_id is not a valid user id")]
    UserId,
}

fn holds_plaintext(row: &SealedRow) -> bool {
    is_plaintext(&row.token) || row.refresh_token.as_deref().is_some_and(is_plaintext)
}

/// The row's two values under the active key, or `None` when both are there already. A value
/// that needs nothing is kept byte for byte.
fn resealed(
    cipher: &TokenCipher,
    plaintext: Plaintext,
    row: &SealedRow,
) -> Result<Option<(String, Option<String>)>, Unrotatable> {
    let token_due = cipher.needs_rotation(&row.token);
    let refresh_due = row
        .refresh_token
        .as_deref()
        .is_some_and(|stored| cipher.needs_rotation(stored));
    if !token_due && !refresh_due {
        return Ok(None);
    }
    let user_id = UserId::parse(&row.user_id).map_err(|_| Unrotatable::UserId)?;
    let at = Row::linkedin(&user_id);
    let token = match cipher.reseal::<AccessToken>(at, &row.token, plaintext)? {
        Some(sealed) => sealed,
        None => row.token.clone(),
    };
    let refresh_token = match &row.refresh_token {
        Some(stored) => Some(
            cipher
                .reseal::<RefreshToken>(at, stored, plaintext)?
                .unwrap_or_else(|| stored.clone()),
        ),
        None => None,
    };
    Ok(Some((token, refresh_token)))
}
