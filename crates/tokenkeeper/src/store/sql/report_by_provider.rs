//! The success report's reads, grouped by the accounts' providers. Events are joined to the
//! account they belong to, so only the accounts that still exist are counted here; the totals
//! (`report.rs`) also count the refreshes of accounts deleted since.

use super::{on_each, Pool, Statement};
use crate::domain::ProviderName;
use crate::store::{ClosedEpisode, ProviderCounts, StoreError, Window};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Parameters of the first five: the window's `since` and `until`.
static REFRESHES: Statement = Statement::new(
    "
SELECT a.network,
       COUNT(DISTINCT CASE WHEN r.run_id IS NOT NULL THEN r.account_id END),
       COUNT(DISTINCT CASE WHEN r.run_id IS NOT NULL AND r.outcome = 'refreshed'
                           THEN r.account_id END),
       COUNT(CASE WHEN r.outcome = 'refreshed' THEN 1 END)
FROM refresh_log r JOIN social_network a ON a.id = r.account_id
WHERE r.attempted_at > ? AND r.attempted_at <= ?
GROUP BY a.network",
);

static EPISODES_OPENED: Statement = Statement::new(
    "
SELECT network, COUNT(*) FROM (
    SELECT a.network, n.account_id, n.episode
    FROM notifications n JOIN social_network a ON a.id = n.account_id
    WHERE n.kind IN ('reconnect_required', 'reconnect_due')
      AND n.created_at > ? AND n.created_at <= ?
    GROUP BY a.network, n.account_id, n.episode) opened
GROUP BY network",
);

static EPISODES_CLOSED: Statement = Statement::new(
    "
SELECT network, COUNT(*) FROM (
    SELECT a.network, n.account_id, n.episode
    FROM notifications n JOIN social_network a ON a.id = n.account_id
    WHERE n.kind IN ('reconnect_required', 'reconnect_due')
      AND n.reconnected_at > ? AND n.reconnected_at <= ?
    GROUP BY a.network, n.account_id, n.episode) closed
GROUP BY network",
);

static EMAIL_FUNNEL: Statement = Statement::new(
    "
SELECT a.network, COUNT(*), COUNT(n.link_opened_at), COUNT(n.reconnected_at)
FROM notifications n JOIN social_network a ON a.id = n.account_id
WHERE n.status = 'sent' AND n.sent_at > ? AND n.sent_at <= ?
GROUP BY a.network",
);

static LOST: Statement = Statement::new(
    "
SELECT network, COUNT(*) FROM social_network
WHERE status IN ('needs_reconnect', 'expired')
  AND token_expires_at > ? AND token_expires_at <= ?
GROUP BY network",
);

/// No parameter: the accounts as they are now.
static ACCOUNTS: Statement =
    Statement::new("SELECT network, COUNT(*) FROM social_network GROUP BY network");

/// Parameters: the window, then the limit.
static CLOSED_EPISODES: Statement = Statement::new(
    "
SELECT a.network, MIN(n.created_at), MIN(n.reconnected_at)
FROM notifications n JOIN social_network a ON a.id = n.account_id
WHERE n.kind IN ('reconnect_required', 'reconnect_due')
  AND n.reconnected_at > ? AND n.reconnected_at <= ?
GROUP BY a.network, n.account_id, n.episode
ORDER BY MIN(n.reconnected_at) DESC
LIMIT ?",
);

fn entry<'a>(
    by: &'a mut BTreeMap<ProviderName, ProviderCounts>,
    stored: &str,
) -> Result<&'a mut ProviderCounts, StoreError> {
    Ok(by.entry(provider(stored)?).or_default())
}

fn provider(stored: &str) -> Result<ProviderName, StoreError> {
    ProviderName::parse(stored).map_err(|e| StoreError::Corrupt {
        table: "social_network",
        id: 0,
        reason: e.0,
    })
}

impl Pool {
    pub(super) async fn report_counts_by_provider(
        &self,
        w: Window,
    ) -> Result<BTreeMap<ProviderName, ProviderCounts>, StoreError> {
        type Pairs = Vec<(String, i64)>;
        type Triples = Vec<(String, i64, i64, i64)>;
        type Read = (Triples, Pairs, Pairs, Triples, Pairs, Pairs);
        let (refreshes, opened, closed, funnel, lost, accounts): Read =
            on_each!(Pool, self, |pool, dialect| {
                let pairs = |statement: &'static Statement| {
                    sqlx::query_as::<_, (String, i64)>(statement.sql(dialect))
                        .bind(w.since)
                        .bind(w.until)
                        .fetch_all(pool)
                };
                let refreshes = sqlx::query_as(REFRESHES.sql(dialect))
                    .bind(w.since)
                    .bind(w.until)
                    .fetch_all(pool)
                    .await?;
                let opened = pairs(&EPISODES_OPENED).await?;
                let closed = pairs(&EPISODES_CLOSED).await?;
                let funnel = sqlx::query_as(EMAIL_FUNNEL.sql(dialect))
                    .bind(w.since)
                    .bind(w.until)
                    .fetch_all(pool)
                    .await?;
                let lost = pairs(&LOST).await?;
                let accounts = sqlx::query_as(ACCOUNTS.sql(dialect))
                    .fetch_all(pool)
                    .await?;
                (refreshes, opened, closed, funnel, lost, accounts)
            });
        let mut by: BTreeMap<ProviderName, ProviderCounts> = BTreeMap::new();
        for (network, n) in accounts {
            entry(&mut by, &network)?.accounts = n;
        }
        for (network, due, refreshed, refreshes) in refreshes {
            let c = &mut entry(&mut by, &network)?.counts;
            (c.due_accounts, c.refreshed_accounts, c.refreshes) = (due, refreshed, refreshes);
        }
        for (network, n) in opened {
            entry(&mut by, &network)?.counts.episodes_opened = n;
        }
        for (network, n) in closed {
            entry(&mut by, &network)?.counts.episodes_closed = n;
        }
        for (network, sent, opened, reconnected) in funnel {
            let c = &mut entry(&mut by, &network)?.counts;
            (c.emails_sent, c.emails_link_opened, c.emails_reconnected) =
                (sent, opened, reconnected);
        }
        for (network, n) in lost {
            entry(&mut by, &network)?.counts.accounts_lost = n;
        }
        Ok(by)
    }

    pub(super) async fn closed_episodes_by_provider(
        &self,
        w: Window,
        limit: i64,
    ) -> Result<Vec<(ProviderName, ClosedEpisode)>, StoreError> {
        let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> =
            on_each!(Pool, self, |pool, dialect| {
                sqlx::query_as(CLOSED_EPISODES.sql(dialect))
                    .bind(w.since)
                    .bind(w.until)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            });
        rows.into_iter()
            .map(|(network, opened_at, reconnected_at)| {
                Ok((
                    provider(&network)?,
                    ClosedEpisode {
                        opened_at,
                        reconnected_at,
                    },
                ))
            })
            .collect()
    }
}
