//! Storage behind one trait per consumer. The backend is chosen once, from the database URL;
//! the composition root holds the whole [`Store`] and hands each consumer the traits it uses
//! (refresh, runs, outbox, connect, host API, admin, report, rotation, import, webhooks,
//! accounts, health). Only this module writes SQL.
//!
//! Design: a backend is its dialect, nothing more. There is one concrete store,
//! [`SqlStore`], over an enum of the three sqlx pools (SQLite, PostgreSQL, MySQL/MariaDB).
//! Each statement is a plain `static` in the file of the trait it serves, written once in
//! `?` style where the dialects agree (PostgreSQL's `$n` form is derived once per statement)
//! and bound once inside `on_each!`, a short macro that compiles the same expression for
//! each pool; where the dialects differ (claims, upserts, RETURNING, ON CONFLICT) an explicit
//! arm gives one dialect its own statements. Every method is ordinary code that tools can
//! read and spans can instrument. sqlx's `Any` driver was not an option (no timestamptz), and
//! generic functions over `sqlx::Database` would need a bound per bound type on every
//! statement. The traits stay the boundary: tests wrap them.

pub mod admin;
mod connect;
mod exact_text;
mod host_api;
pub mod import;
mod migrations;
mod outbox;
mod refresh;
mod report;
mod rotation;
mod rows;
mod runs;
mod sql;
mod text_enums;
mod webhooks;

pub use admin::{AccountSearch, AdminStore, FailedDelivery, OutcomeCount, StoredNotification};
pub use connect::{AttemptLookup, ConnectAttempt, ConnectOutcome, ConnectStore, LinkUse, Purged};
pub use host_api::{
    AccountFilter, AccountSummary, DeletedAccount, ForecastCount, ForecastKind, HostApiStore,
    OneClaim,
};
pub use import::{ImportStore, ReconnectNotices};
pub use outbox::{ClaimedNotification, OutboxStore, PendingEmail};
pub use refresh::{
    ClaimedBatch, Lease, RefreshLogEntry, RefreshLogStore, RefreshStore, RefreshWrite,
};
pub use report::{ClosedEpisode, ProviderCounts, ReportCounts, ReportStore, Window};
pub use rotation::{KeyRotationStore, Resealed, SealedRow};
pub use runs::{RunStore, SweepCounts, SweepRun};
pub use sql::{
    claim_due_statement, migrate_database, BareDatabase, Dialect, InnodbRoom, SqlStore,
    MAX_USERS_PER_READ,
};
pub use webhooks::{DeliveryMark, DeliveryStatus, StoredWebhookEvent, WebhookEvents, WebhookStore};

use crate::crypto::TokenCipher;
use crate::domain::{Account, LinkedAccount, ProviderName, UserId};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Carries the URL's scheme only: the rest may hold a password.
    #[error(
        "database URLs of scheme {0:?} are not supported: use sqlite://PATH, postgres://... or mysql://..."
    )]
    UnsupportedUrl(String),
    /// A database this build leaves out (its cargo feature was off). Carries the URL's scheme
    /// only, as above.
    #[error(
        "database URLs of scheme {scheme:?} need the `{feature}` feature, which this build of tokenkeeper leaves out: build it with `--features {feature}`"
    )]
    NotBuiltIn {
        scheme: String,
        feature: &'static str,
    },
    /// The server answered but is a version the store cannot work with.
    #[error("{0}")]
    UnsupportedServer(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migrating the database failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A token column that does not open under the keyring, or holds plaintext where it is
    /// refused, or nothing: it is reported, and never read as a token, empty or not. The error
    /// names the row (account id and user id), the column and, where there is one, the key
    /// id; never the value.
    #[error("account {id} of user {user_id:?} (table social_network): {error}")]
    SealedToken {
        id: i64,
        user_id: String,
        error: crate::crypto::OpenError,
    },
    /// A stored row no longer satisfies the domain rules (edited by hand, say).
    #[error("row {table}.{id} is invalid: {reason}")]
    Corrupt {
        table: &'static str,
        id: i64,
        reason: String,
    },
}

/// The whole store, as the composition root opens it (`services.rs`). Nothing else takes
/// it whole: each consumer takes the one or two traits it uses, which `Arc<dyn Store>`
/// coerces to.
#[async_trait]
pub trait Store:
    ConnectStore
    + HostApiStore
    + AccountStore
    + AdminStore
    + RunStore
    + OutboxStore
    + RefreshStore
    + HealthStore
    + KeyRotationStore
    + ImportStore
    + ReportStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// Applies this backend's migrations. Idempotent.
    async fn migrate(&self) -> Result<(), StoreError>;
}

/// Whether the database answers: readiness and the doctor ask it.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// One round trip to the database, changing nothing.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Accounts one at a time or by page: linking, reading by user or id, listing and counting.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a freshly linked account. One account per host user and provider: linking
    /// again replaces the tokens of the existing row (and resets its state) instead of adding
    /// one.
    async fn save_linked_account(&self, account: &LinkedAccount) -> Result<Account, StoreError>;

    /// The user's account with `provider`.
    async fn account_by_user(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
    ) -> Result<Option<Account>, StoreError>;

    /// The accounts with `provider` of up to [`MAX_USERS_PER_READ`] users in one statement, in
    /// no order; a user without an account is missing from the answer. A row that does not
    /// open is an `Err` in its place, so one bad row never hides the others.
    async fn accounts_by_users(
        &self,
        provider: &ProviderName,
        user_ids: &[UserId],
    ) -> Result<Vec<Result<Account, StoreError>>, StoreError>;

    async fn account_by_id(&self, id: i64) -> Result<Option<Account>, StoreError>;

    /// Accounts ordered by id, at most `limit`, starting after `after_id`.
    async fn list_accounts(&self, after_id: i64, limit: i64) -> Result<Vec<Account>, StoreError>;

    async fn count_accounts(&self) -> Result<i64, StoreError>;
}

/// Opens the store the URL names: `sqlite://PATH` (created on first use), `postgres://...` or
/// `mysql://...` (also `mariadb://...`). The cipher seals every token the store writes and
/// opens every token it reads.
pub async fn connect(
    database_url: &str,
    cipher: TokenCipher,
) -> Result<Arc<dyn Store>, StoreError> {
    connect_with_webhooks(database_url, cipher, WebhookEvents::Off).await
}

/// `connect`, with the store writing webhook events with its state changes while `webhooks`
/// is on.
pub async fn connect_with_webhooks(
    database_url: &str,
    cipher: TokenCipher,
    webhooks: WebhookEvents,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(
        SqlStore::connect(database_url, cipher)
            .await?
            .with_webhook_events(webhooks),
    ))
}
