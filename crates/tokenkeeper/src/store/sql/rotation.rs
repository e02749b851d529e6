//! What the key rotation reads and writes: the two token columns, under the version check.

use super::{on_each, SqlStore, Statement};
use crate::crypto::{Plaintext, TokenCipher};
use crate::store::exact_text::ExactText;
use crate::store::{KeyRotationStore, Resealed, SealedRow, StoreError};
use async_trait::async_trait;

static SEALED_ROWS: Statement = Statement::new(
    "SELECT id, user_id, version, token, refresh_token FROM social_network
     WHERE id > ? ORDER BY id LIMIT ?",
);

/// The rotation does not bump `version`. A sweep claims a row (bumping it) and writes its
/// refresh back under the claimed version: if the rotation bumped it in between, that
/// write-back would find the row changed and the refresh, already spent at LinkedIn, would be
/// lost. Not bumping is safe because no writer copies a stored value: every write of these
/// columns (a refresh, a link) seals new tokens, so letting one land after the rotation only
/// replaces values that are equal in meaning. The other way round, a refresh or a link that
/// lands between the rotation's read and this write bumps the version, and this write then
/// changes nothing: a newer token is never overwritten with an older one. `updated_at` is left
/// as well: the account did not change, only how it is stored.
///
/// A batch's rows are written in one transaction: one commit per row made PostgreSQL and
/// MariaDB wait for a flush to disk each time (356 rows/s on PostgreSQL). Its rows stay locked
/// until that commit, a few milliseconds; a sweep's claim (`SKIP LOCKED`) passes over such a
/// row for that moment, and takes it at a later claim of the sweep or at the next slot, well
/// before its token ends.
static WRITE_RESEALED: Statement = Statement::new(
    "UPDATE social_network SET token = ?, refresh_token = ? WHERE id = ? AND version = ?",
);

#[derive(sqlx::FromRow)]
struct SealedColumns {
    id: i64,
    user_id: ExactText,
    version: i64,
    token: String,
    refresh_token: Option<String>,
}

#[async_trait]
impl KeyRotationStore for SqlStore {
    fn token_cipher(&self) -> &TokenCipher {
        &self.cipher
    }

    fn plaintext(&self) -> Plaintext {
        SqlStore::plaintext(self)
    }

    async fn sealed_rows(&self, after_id: i64, limit: i64) -> Result<Vec<SealedRow>, StoreError> {
        let rows: Vec<SealedColumns> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(SEALED_ROWS.sql(dialect))
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| SealedRow {
                id: row.id,
                user_id: row.user_id.0,
                version: row.version,
                token: row.token,
                refresh_token: row.refresh_token,
            })
            .collect())
    }

    async fn write_resealed(&self, rows: &[Resealed<'_>]) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.begin().await?;
        let mut written = Vec::with_capacity(rows.len());
        for resealed in rows {
            let changed = on_each!(Tx, &mut tx, |tx, dialect| {
                sqlx::query(WRITE_RESEALED.sql(dialect))
                    .bind(resealed.token.as_str())
                    .bind(resealed.refresh_token.as_deref())
                    .bind(resealed.row.id)
                    .bind(resealed.row.version)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            });
            written.push(changed == 1);
        }
        tx.commit().await?;
        Ok(written)
    }
}
