//! What the success report reads: counts over a window of time, aggregated by the database,
//! and the bounded list of reconnect episodes it takes the median from. Reads only, and no
//! token: it is served by the keyless database handle as well as by the store.

use super::StoreError;
use crate::domain::ProviderName;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A window of time, `(since, until]`: an event at `since` belongs to the window before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The counts behind the success report, each over the window; the report's own type says
/// what each one means to an operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportCounts {
    /// Accounts a sweep found due and decided on (a `refresh_log` row with a run).
    pub due_accounts: i64,
    /// Of those, accounts a sweep refreshed.
    pub refreshed_accounts: i64,
    /// Successful refreshes, by sweeps and on demand alike.
    pub refreshes: i64,
    /// Reconnect episodes whose opening email (`reconnect_required`, `reconnect_due`) was
    /// written in the window.
    pub episodes_opened: i64,
    /// Reconnect episodes whose member reconnected in the window, whenever they opened.
    pub episodes_closed: i64,
    /// Emails sent in the window.
    pub emails_sent: i64,
    /// Of those, emails after which the member opened a connect link (by now).
    pub emails_link_opened: i64,
    /// Of those, emails after which the member reconnected (by now).
    pub emails_reconnected: i64,
    /// Accounts waiting for their member whose access token died in the window, and that
    /// have not reconnected since.
    pub accounts_lost: i64,
    /// Sweeps started in the window, and how many of them completed.
    pub sweeps: i64,
    pub sweeps_completed: i64,
}

/// One reconnect episode that ended in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedEpisode {
    pub opened_at: DateTime<Utc>,
    pub reconnected_at: DateTime<Utc>,
}

/// One provider's counts over a window, and how many accounts it has now. Only the accounts
/// that still exist are counted by provider (a deleted account's refreshes keep counting in
/// the totals alone), and sweeps are not a provider's: `sweeps` and `sweeps_completed` are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderCounts {
    pub accounts: i64,
    pub counts: ReportCounts,
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn report_counts(&self, window: Window) -> Result<ReportCounts, StoreError>;

    /// The episodes closed in the window, latest first, at most `limit` of them.
    async fn closed_episodes(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<ClosedEpisode>, StoreError>;

    /// The counts of each provider that has accounts or had events in the window.
    async fn report_counts_by_provider(
        &self,
        window: Window,
    ) -> Result<BTreeMap<ProviderName, ProviderCounts>, StoreError>;

    /// The episodes closed in the window with their accounts' providers, latest first, at
    /// most `limit` of them over all providers.
    async fn closed_episodes_by_provider(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<(ProviderName, ClosedEpisode)>, StoreError>;
}
