//! What the key rotation reads and writes: the two token columns, under the version check.

use super::{on_each, SqlStore, Statement};
use crate::crypto::TokenCipher;
use crate::store::exact_text::ExactText;
use crate::store::{KeyRotationStore, SealedRow, StoreError};
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

    async fn write_resealed(
        &self,
        row: &SealedRow,
        token: &str,
        refresh_token: Option<&str>,
    ) -> Result<bool, StoreError> {
        let written = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(WRITE_RESEALED.sql(dialect))
                .bind(token)
                .bind(refresh_token)
                .bind(row.id)
                .bind(row.version)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(written == 1)
    }
}
