//! The success report's reads: one aggregate per source table, over a window of time. They
//! are the same on every dialect and read no token, so they run on the bare pool and serve
//! both the store and the keyless database handle.

use super::{on_each, BareDatabase, Pool, SqlStore, Statement};
use crate::domain::ProviderName;
use crate::store::{ClosedEpisode, ProviderCounts, ReportCounts, ReportStore, StoreError, Window};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Parameters of every statement here but the last: the window's `since` and `until`.
static REFRESHES: Statement = Statement::new(
    "
SELECT COUNT(DISTINCT CASE WHEN run_id IS NOT NULL THEN account_id END),
       COUNT(DISTINCT CASE WHEN run_id IS NOT NULL AND outcome = 'refreshed'
                           THEN account_id END),
       COUNT(CASE WHEN outcome = 'refreshed' THEN 1 END)
FROM refresh_log WHERE attempted_at > ? AND attempted_at <= ?",
);

/// An episode is one linking's trouble (`notifications.episode`); it opens with the email
/// that asks the member to reconnect, of which it has at most one of each kind.
static EPISODES_OPENED: Statement = Statement::new(
    "
SELECT COUNT(*) FROM (
    SELECT account_id, episode FROM notifications
    WHERE kind IN ('reconnect_required', 'reconnect_due')
      AND created_at > ? AND created_at <= ?
    GROUP BY account_id, episode) opened",
);

static EPISODES_CLOSED: Statement = Statement::new(
    "
SELECT COUNT(*) FROM (
    SELECT account_id, episode FROM notifications
    WHERE kind IN ('reconnect_required', 'reconnect_due')
      AND reconnected_at > ? AND reconnected_at <= ?
    GROUP BY account_id, episode) closed",
);

static EMAIL_FUNNEL: Statement = Statement::new(
    "
SELECT COUNT(*), COUNT(link_opened_at), COUNT(reconnected_at) FROM notifications
WHERE status = 'sent' AND sent_at > ? AND sent_at <= ?",
);

/// A reconnect resets the status to active, so these have not reconnected since.
static LOST: Statement = Statement::new(
    "
SELECT COUNT(*) FROM social_network
WHERE status IN ('needs_reconnect', 'expired')
  AND token_expires_at > ? AND token_expires_at <= ?",
);

static SWEEPS: Statement = Statement::new(
    "
SELECT COUNT(*), COUNT(CASE WHEN outcome = 'completed' THEN 1 END) FROM sweep_runs
WHERE started_at > ? AND started_at <= ?",
);

/// Parameters: the window, then the limit.
static CLOSED_EPISODES: Statement = Statement::new(
    "
SELECT MIN(created_at), MIN(reconnected_at) FROM notifications
WHERE kind IN ('reconnect_required', 'reconnect_due')
  AND reconnected_at > ? AND reconnected_at <= ?
GROUP BY account_id, episode
ORDER BY MIN(reconnected_at) DESC
LIMIT ?",
);

impl Pool {
    async fn report_counts(&self, w: Window) -> Result<ReportCounts, StoreError> {
        Ok(on_each!(Pool, self, |pool, dialect| {
            let (due_accounts, refreshed_accounts, refreshes): (i64, i64, i64) =
                sqlx::query_as(REFRESHES.sql(dialect))
                    .bind(w.since)
                    .bind(w.until)
                    .fetch_one(pool)
                    .await?;
            let count = |statement: &'static Statement| {
                sqlx::query_scalar::<_, i64>(statement.sql(dialect))
                    .bind(w.since)
                    .bind(w.until)
                    .fetch_one(pool)
            };
            let episodes_opened = count(&EPISODES_OPENED).await?;
            let episodes_closed = count(&EPISODES_CLOSED).await?;
            let accounts_lost = count(&LOST).await?;
            let (emails_sent, emails_link_opened, emails_reconnected): (i64, i64, i64) =
                sqlx::query_as(EMAIL_FUNNEL.sql(dialect))
                    .bind(w.since)
                    .bind(w.until)
                    .fetch_one(pool)
                    .await?;
            let (sweeps, sweeps_completed): (i64, i64) = sqlx::query_as(SWEEPS.sql(dialect))
                .bind(w.since)
                .bind(w.until)
                .fetch_one(pool)
                .await?;
            ReportCounts {
                due_accounts,
                refreshed_accounts,
                refreshes,
                episodes_opened,
                episodes_closed,
                emails_sent,
                emails_link_opened,
                emails_reconnected,
                accounts_lost,
                sweeps,
                sweeps_completed,
            }
        }))
    }

    async fn closed_episodes(
        &self,
        w: Window,
        limit: i64,
    ) -> Result<Vec<ClosedEpisode>, StoreError> {
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = on_each!(Pool, self, |pool, dialect| {
            sqlx::query_as(CLOSED_EPISODES.sql(dialect))
                .bind(w.since)
                .bind(w.until)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(opened_at, reconnected_at)| ClosedEpisode {
                opened_at,
                reconnected_at,
            })
            .collect())
    }
}

#[async_trait]
impl ReportStore for SqlStore {
    async fn report_counts(&self, window: Window) -> Result<ReportCounts, StoreError> {
        self.pool.report_counts(window).await
    }

    async fn closed_episodes(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<ClosedEpisode>, StoreError> {
        self.pool.closed_episodes(window, limit).await
    }

    async fn report_counts_by_provider(
        &self,
        window: Window,
    ) -> Result<BTreeMap<ProviderName, ProviderCounts>, StoreError> {
        self.pool.report_counts_by_provider(window).await
    }

    async fn closed_episodes_by_provider(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<(ProviderName, ClosedEpisode)>, StoreError> {
        self.pool.closed_episodes_by_provider(window, limit).await
    }
}

#[async_trait]
impl ReportStore for BareDatabase {
    async fn report_counts(&self, window: Window) -> Result<ReportCounts, StoreError> {
        self.pool.report_counts(window).await
    }

    async fn closed_episodes(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<ClosedEpisode>, StoreError> {
        self.pool.closed_episodes(window, limit).await
    }

    async fn report_counts_by_provider(
        &self,
        window: Window,
    ) -> Result<BTreeMap<ProviderName, ProviderCounts>, StoreError> {
        self.pool.report_counts_by_provider(window).await
    }

    async fn closed_episodes_by_provider(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<(ProviderName, ClosedEpisode)>, StoreError> {
        self.pool.closed_episodes_by_provider(window, limit).await
    }
}
