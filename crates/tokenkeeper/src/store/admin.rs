//! What the operators' dashboard reads beyond the host API's queries: accounts counted by
//! status, searched by user id or email, refresh outcomes per day, failed deliveries, and a
//! failed delivery put back in the queue. No query here reads a token column.

use super::{AccountSummary, StoreError};
use crate::domain::{AccountStatus, RefreshOutcome};
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

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// How many accounts have each status; a status without accounts is absent.
    async fn accounts_by_status(&self) -> Result<Vec<(AccountStatus, i64)>, StoreError>;

    /// Accounts matching the search, in id order, without tokens.
    async fn search_accounts(
        &self,
        search: &AccountSearch,
    ) -> Result<Vec<AccountSummary>, StoreError>;

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
