//! Accounts: linking (the conditional upsert), reading and listing.

use super::webhooks::EventWrite;
use super::{on_each, Dialect, SqlStore, Statement, Tx};
use crate::crypto::Row;
use crate::domain::{Account, LinkedAccount, ProviderName, UserId, WebhookEventType};
use crate::store::rows::{self, AccountRow};
use crate::store::{AccountStore, HealthStore, Store, StoreError};
use async_trait::async_trait;

/// The last parameter allows replacing the LinkedIn member of an existing row; without it, a
/// row of another member is left as it is and nothing is returned. A row whose member is not
/// known yet (stored empty: an import LinkedIn would not describe) takes the member who
/// connects. Deciding in the statement
/// itself leaves no gap between a check and the write. (SQLite and PostgreSQL.)
#[cfg(any(feature = "sqlite", feature = "postgres"))]
static UPSERT_RETURNING: Statement = Statement::new(
    "
INSERT INTO social_network (user_id, network, member_id, email, name, token, token_expires_at,
    refresh_token, refresh_token_expires_at, scope, expiration, status, linked_at,
    refresh_attempts, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 0, ?, ?, 1)
ON CONFLICT (user_id, network) DO UPDATE SET
    member_id = excluded.member_id, email = excluded.email, name = excluded.name,
    token = excluded.token, token_expires_at = excluded.token_expires_at,
    refresh_token = excluded.refresh_token,
    refresh_token_expires_at = excluded.refresh_token_expires_at,
    scope = excluded.scope, expiration = excluded.expiration, status = 'active',
    linked_at = excluded.linked_at, refresh_attempts = 0, last_error = NULL,
    claimed_until = NULL, claimed_by = NULL, updated_at = excluded.updated_at,
    version = social_network.version + 1
WHERE social_network.member_id IN (excluded.member_id, '') OR ?
RETURNING *",
);

/// MySQL has neither `ON CONFLICT ... WHERE` nor `RETURNING`. Its upsert runs in three steps
/// in the caller's transaction: this insert creates the row (at version 0) or, on the unique
/// key, only locks the existing one, so a racing link of the same user waits here; the
/// update below then decides under that lock.
#[cfg(feature = "mysql")]
const MYSQL_INSERT_OR_LOCK: &str = "
INSERT INTO social_network (user_id, network, member_id, email, name, token, token_expires_at,
    refresh_token, refresh_token_expires_at, scope, expiration, status, linked_at,
    refresh_attempts, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 0, ?, ?, 0)
ON DUPLICATE KEY UPDATE id = id";

/// Replaces the locked row's tokens if its member is the same, not known yet, or may change
/// (MySQL).
#[cfg(feature = "mysql")]
const MYSQL_REPLACE_IF_ALLOWED: &str = "
UPDATE social_network SET
    member_id = ?, email = ?, name = ?, token = ?, token_expires_at = ?, refresh_token = ?,
    refresh_token_expires_at = ?, scope = ?, expiration = ?, status = 'active', linked_at = ?,
    refresh_attempts = 0, last_error = NULL, claimed_until = NULL, claimed_by = NULL,
    updated_at = ?, version = version + 1
WHERE user_id = ? AND network = ? AND (member_id IN (?, '') OR ?)";

static BY_USER: Statement =
    Statement::new("SELECT * FROM social_network WHERE user_id = ? AND network = ?");

/// The most users one `accounts_by_users` statement asks for.
pub const MAX_USERS_PER_READ: usize = 64;

/// The statement for one provider and `n` users (`n` a power of two up to
/// [`MAX_USERS_PER_READ`], so each connection prepares at most seven of them and reuses them).
fn by_users_sql(dialect: Dialect, n: usize) -> String {
    let placeholder = |i: usize| match dialect {
        Dialect::Postgres => format!("${i}"),
        Dialect::Sqlite | Dialect::MySql => "?".to_owned(),
    };
    let users: Vec<String> = (2..=n + 1).map(placeholder).collect();
    format!(
        "SELECT * FROM social_network WHERE network = {} AND user_id IN ({})",
        placeholder(1),
        users.join(", ")
    )
}

pub(super) static BY_ID: Statement = Statement::new("SELECT * FROM social_network WHERE id = ?");

static LIST: Statement =
    Statement::new("SELECT * FROM social_network WHERE id > ? ORDER BY id LIMIT ?");

/// Reconnecting ends the episode: reminders still waiting for it are not sent, and every
/// email of the episode records when its member came back (the success report's funnel). A
/// pending row is never already marked, so one statement does both. Parameters: the time of
/// linking, the account.
static END_EPISODE: Statement = Statement::new(
    "
UPDATE notifications SET reconnected_at = ?,
    status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END
WHERE account_id = ? AND reconnected_at IS NULL",
);

impl SqlStore {
    /// Inserts or replaces the user's account inside the caller's transaction and ends its
    /// reconnect episode. `None` when the row belongs to another LinkedIn member and
    /// `allow_member_change` is false: then nothing was written.
    pub(super) async fn upsert_linked_account(
        &self,
        tx: &mut Tx,
        account: &LinkedAccount,
        allow_member_change: bool,
    ) -> Result<Option<Account>, StoreError> {
        let tokens = account.tokens();
        let row = Row::new(account.provider(), account.user_id());
        let token = self.cipher.seal(row, &tokens.access_token);
        let refresh_token = tokens
            .refresh_token
            .as_ref()
            .map(|refresh| self.cipher.seal(row, refresh));
        let row: Option<AccountRow> = on_each!(Tx, &mut *tx, [Sqlite, Postgres] |tx, dialect| {
            sqlx::query_as(UPSERT_RETURNING.sql(dialect))
                .bind(account.user_id().as_str())
                .bind(account.provider().as_str())
                .bind(account.member_id().as_str())
                .bind(account.email().as_str())
                .bind(account.name())
                .bind(token.as_str())
                .bind(tokens.token_expires_at)
                .bind(refresh_token.as_deref())
                .bind(tokens.refresh_token_expires_at)
                .bind(tokens.scope.as_str())
                .bind(account.expiration())
                .bind(account.linked_at())
                .bind(account.linked_at())
                .bind(account.linked_at())
                .bind(allow_member_change)
                .fetch_optional(&mut **tx)
                .await?
        }, #[cfg(feature = "mysql")] Tx::MySql(tx) => {
            sqlx::query(MYSQL_INSERT_OR_LOCK)
                .bind(account.user_id().as_str())
                .bind(account.provider().as_str())
                .bind(account.member_id().as_str())
                .bind(account.email().as_str())
                .bind(account.name())
                .bind(token.as_str())
                .bind(tokens.token_expires_at)
                .bind(refresh_token.as_deref())
                .bind(tokens.refresh_token_expires_at)
                .bind(tokens.scope.as_str())
                .bind(account.expiration())
                .bind(account.linked_at())
                .bind(account.linked_at())
                .bind(account.linked_at())
                .execute(&mut **tx)
                .await?;
            // Matched rows, not changed ones, are counted (sqlx asks for CLIENT_FOUND_ROWS),
            // and `version` always changes: 0 means another member's row was left alone.
            let replaced = sqlx::query(MYSQL_REPLACE_IF_ALLOWED)
                .bind(account.member_id().as_str())
                .bind(account.email().as_str())
                .bind(account.name())
                .bind(token.as_str())
                .bind(tokens.token_expires_at)
                .bind(refresh_token.as_deref())
                .bind(tokens.refresh_token_expires_at)
                .bind(tokens.scope.as_str())
                .bind(account.expiration())
                .bind(account.linked_at())
                .bind(account.linked_at())
                .bind(account.user_id().as_str())
                .bind(account.provider().as_str())
                .bind(account.member_id().as_str())
                .bind(allow_member_change)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if replaced == 0 {
                None
            } else {
                sqlx::query_as(BY_USER.sql(super::Dialect::MySql))
                    .bind(account.user_id().as_str())
                    .bind(account.provider().as_str())
                    .fetch_optional(&mut **tx)
                    .await?
            }
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let stored = row.open(&self.tokens())?;
        on_each!(Tx, &mut *tx, |tx, dialect| {
            sqlx::query(END_EPISODE.sql(dialect))
                .bind(account.linked_at())
                .bind(stored.id)
                .execute(&mut **tx)
                .await?;
        });
        // A new row starts at version 1 on every backend; any earlier write bumped it.
        let event_type = if stored.version == 1 {
            WebhookEventType::Linked
        } else {
            WebhookEventType::Reconnected
        };
        let event = EventWrite::new(event_type, Some("connected"), account.linked_at());
        self.record_event(tx, stored.id, &event).await?;
        Ok(Some(stored))
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations().await
    }
}

#[async_trait]
impl HealthStore for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.pool.ping().await
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn save_linked_account(&self, account: &LinkedAccount) -> Result<Account, StoreError> {
        let mut tx = self.begin().await?;
        let stored = self
            .upsert_linked_account(&mut tx, account, true)
            .await?
            .expect("a write allowed to change the member always stores a row");
        tx.commit().await?;
        Ok(stored)
    }

    async fn account_by_user(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
    ) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(BY_USER.sql(dialect))
                .bind(user_id.as_str())
                .bind(provider.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(|row| row.open(&self.tokens())).transpose()
    }

    async fn accounts_by_users(
        &self,
        provider: &ProviderName,
        user_ids: &[UserId],
    ) -> Result<Vec<Result<Account, StoreError>>, StoreError> {
        let Some(last) = user_ids.last() else {
            return Ok(Vec::new());
        };
        assert!(
            user_ids.len() <= MAX_USERS_PER_READ,
            "accounts_by_users takes at most {MAX_USERS_PER_READ} users"
        );
        // The list is padded with its last id to the next power of two: the answer is the
        // same, and the statement is one of a few each connection has already prepared.
        let padded = user_ids.len().next_power_of_two();
        let ids = user_ids.iter().chain(std::iter::repeat(last)).take(padded);
        // On a connection kept from the last such statement: see kept.rs.
        let mut held = self.kept.take(&self.pool).await?;
        let rows: Vec<AccountRow> = on_each!(Held, &mut held, |conn, dialect| {
            let sql = by_users_sql(dialect, padded);
            let mut query = sqlx::query_as(&sql).bind(provider.as_str());
            for id in ids {
                query = query.bind(id.as_str());
            }
            // A connection that failed is dropped here, not kept.
            query.fetch_all(&mut **conn).await?
        });
        self.kept.keep(held);
        Ok(rows
            .into_iter()
            .map(|row| row.open(&self.tokens()))
            .collect())
    }

    async fn account_by_id(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(BY_ID.sql(dialect))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|row| row.open(&self.tokens())).transpose()
    }

    async fn list_accounts(&self, after_id: i64, limit: i64) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(LIST.sql(dialect))
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows::accounts(rows, &self.tokens())
    }

    async fn count_accounts(&self) -> Result<i64, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_scalar("SELECT COUNT(*) FROM social_network")
                .fetch_one(pool)
                .await?
        }))
    }
}
