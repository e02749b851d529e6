//! What the operators' dashboard reads beyond the host API's queries: accounts counted by
//! status, searched by user id or email, refresh outcomes per day, the latest sweeps, the
//! outbox counted by status, one account's refresh log and emails, failed deliveries, and a
//! failed delivery put back in the queue. No query here reads a token column.

use super::{AccountSummary, RefreshLogStore, StoreError, SweepRun};
use crate::domain::{
    AccountStatus, NotificationKind, NotificationStatus, ProviderName, RefreshOutcome,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Which accounts the dashboard's list shows: after `after_id` in id order, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct AccountSearch {
    /// A user id, or an email address (compared without regard to case).
    pub query: Option<String>,
    pub status: Option<AccountStatus>,
    pub after_id: i64,
    pub limit: i64,
}

/// Audit rows of one outcome on one day: `day` counts whole days of 24 hours from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeCount {
    pub day: i64,
    pub outcome: RefreshOutcome,
    pub attempts: i64,
}

/// An email the worker gave up on, with the account it was for.
#[derive(Debug, Clone)]
pub struct FailedDelivery {
    pub id: i64,
    /// The account the email is about: the dashboard links to it by this number.
    pub account_id: i64,
    pub user_id: String,
    /// As stored: a kind this version does not know is still listed.
    pub kind: String,
    pub attempts: i32,
    /// The SMTP server's last answer; it never holds a token.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored outbox row, as the dashboard and tests read it.
#[derive(Debug, Clone)]
pub struct StoredNotification {
    pub id: i64,
    pub account_id: i64,
    pub kind: NotificationKind,
    pub episode: String,
    pub dedupe_key: String,
    pub status: NotificationStatus,
    pub send_after: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The dashboard's reads and its two writes (a delivery retried, a reconnect email resent).
/// An account's refresh log comes from [`RefreshLogStore`], which the sweep reads too.
#[async_trait]
pub trait AdminStore: RefreshLogStore {
    /// How many accounts have each status; a status without accounts is absent.
    async fn accounts_by_status(&self) -> Result<Vec<(AccountStatus, i64)>, StoreError>;

    /// Accounts matching the search, in id order, without tokens.
    async fn search_accounts(
        &self,
        search: &AccountSearch,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        self.search_accounts_of(search, None).await
    }

    /// The same, of `provider`'s accounts only when one is named.
    async fn search_accounts_of(
        &self,
        search: &AccountSearch,
        provider: Option<&ProviderName>,
    ) -> Result<Vec<AccountSummary>, StoreError>;

    /// The latest sweeps, newest first.
    async fn recent_runs(&self, limit: i64) -> Result<Vec<SweepRun>, StoreError>;

    /// Outbox rows counted by status; a status without rows is absent.
    async fn notification_counts(&self) -> Result<Vec<(NotificationStatus, i64)>, StoreError>;

    /// One account's emails, oldest first.
    async fn notifications_for(
        &self,
        account_id: i64,
    ) -> Result<Vec<StoredNotification>, StoreError>;

    /// `refresh_log` rows from `from` on, counted by day and outcome.
    async fn refresh_outcomes_by_day(
        &self,
        from: DateTime<Utc>,
    ) -> Result<Vec<OutcomeCount>, StoreError>;

    /// The latest failed deliveries, newest first.
    async fn failed_deliveries(&self, limit: i64) -> Result<Vec<FailedDelivery>, StoreError>;

    /// Puts a failed delivery back in the queue, due at `now` with its attempts reset;
    /// `false` when it is not (or no longer) failed.
    async fn retry_delivery(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Sends the account's latest reconnect email again, due at `now` (the operator pressed
    /// "Resend" for a member who lost it), if the account still needs reconnecting and that
    /// email already went out or failed; its id, or `None` when there is nothing to resend.
    /// The same row is queued again, so the outbox keeps one email per episode and kind.
    async fn resend_reconnect_email(
        &self,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;
}
