//! Storage behind one trait. The backend is chosen once, from the database URL; the rest of
//! the program sees only [`Store`]. Only this module writes SQL.

mod connect;
mod host_api;
mod host_api_sql;
mod outbox;
mod postgres;
mod refresh;
mod rows;
mod runs;
mod sql;
mod sqlite;
pub mod testing;

pub use connect::{AttemptLookup, ConnectAttempt, ConnectOutcome, ConnectStore, LinkUse, Purged};
pub use host_api::{
    AccountFilter, AccountSummary, DeletedAccount, ForecastCount, ForecastKind, HostApiStore,
    OneClaim,
};
pub use outbox::{OutboxStore, PendingEmail};
pub use postgres::PostgresStore;
pub use refresh::{Lease, RefreshLogEntry, RefreshStore, RefreshWrite, StoredNotification};
pub use runs::{RunStore, SweepCounts, SweepRun};
pub use sqlite::SqliteStore;

use crate::domain::{Account, LinkedAccount, UserId};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Carries the URL's scheme only: the rest may hold a password.
    #[error(
        "database URLs of scheme {0:?} are not supported: use sqlite://PATH or postgres://..."
    )]
    UnsupportedUrl(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migrating the database failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row no longer satisfies the domain rules (edited by hand, say).
    #[error("row {table}.{id} is invalid: {reason}")]
    Corrupt {
        table: &'static str,
        id: i64,
        reason: String,
    },
}

#[async_trait]
pub trait Store:
    RefreshStore + RunStore + OutboxStore + ConnectStore + HostApiStore + Send + Sync + 'static
{
    /// Applies this backend's migrations. Idempotent.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Stores a freshly linked account. One LinkedIn account per host user: linking again
    /// replaces the tokens of the existing row (and resets its state) instead of adding one.
    async fn save_linked_account(&self, account: &LinkedAccount) -> Result<Account, StoreError>;

    async fn account_by_user(&self, user_id: &UserId) -> Result<Option<Account>, StoreError>;

    async fn account_by_id(&self, id: i64) -> Result<Option<Account>, StoreError>;

    /// Accounts ordered by id, at most `limit`, starting after `after_id`.
    async fn list_accounts(&self, after_id: i64, limit: i64) -> Result<Vec<Account>, StoreError>;

    async fn count_accounts(&self) -> Result<i64, StoreError>;
}

/// Opens the store the URL names: `sqlite://path` (created on first use) or `postgres://...`.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url).await?))
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(database_url).await?))
    } else {
        let scheme = database_url
            .split_once(':')
            .map_or("", |(scheme, _)| scheme)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
            .take(20)
            .collect();
        Err(StoreError::UnsupportedUrl(scheme))
    }
}
