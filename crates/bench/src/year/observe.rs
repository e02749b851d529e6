//! What the simulation reads from the database, from outside the service: the accounts as the
//! store lists them, the sweeps' runs, and two counts no store method gives (emails due and
//! accounts claimed), asked in SQL.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{MySqlPool, PgPool, SqlitePool};
use std::sync::Arc;
use tokenkeeper::store::{AccountFilter, AccountSummary, Store};

pub struct Observer {
    pub store: Arc<dyn Store>,
    pool: Pool,
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// The accounts whose claim is live at `now`.
const LIVE_CLAIMS: &str = "SELECT COUNT(*) FROM social_network WHERE claimed_until > ?";
/// Emails the outbox owes now: pending and due.
const DUE_EMAILS: &str =
    "SELECT COUNT(*) FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?";

impl Observer {
    pub async fn open(config: &tokenkeeper::config::Config, url: &str) -> anyhow::Result<Self> {
        let store = tokenkeeper::services::Services::open_store(config).await?;
        let pool = if url.starts_with("sqlite:") {
            Pool::Sqlite(SqlitePool::connect(url).await?)
        } else if url.starts_with("postgres") {
            Pool::Postgres(PgPool::connect(url).await?)
        } else {
            Pool::MySql(MySqlPool::connect(url).await?)
        };
        Ok(Self { store, pool })
    }

    async fn count_at(&self, sql: &str, at: DateTime<Utc>) -> anyhow::Result<i64> {
        let count: i64 = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).bind(at).fetch_one(pool).await?,
            Pool::Postgres(pool) => {
                sqlx::query_scalar(&sql.replace('?', "$1"))
                    .bind(at)
                    .fetch_one(pool)
                    .await?
            }
            Pool::MySql(pool) => sqlx::query_scalar(sql).bind(at).fetch_one(pool).await?,
        };
        Ok(count)
    }

    pub async fn live_claims(&self, now: DateTime<Utc>) -> anyhow::Result<i64> {
        self.count_at(LIVE_CLAIMS, now).await
    }

    pub async fn due_emails(&self, now: DateTime<Utc>) -> anyhow::Result<i64> {
        self.count_at(DUE_EMAILS, now).await
    }

    /// Every account, in id order.
    pub async fn accounts(&self) -> anyhow::Result<Vec<AccountSummary>> {
        let mut all = Vec::new();
        let mut after_id = 0;
        loop {
            let page = self
                .store
                .list_account_summaries(&AccountFilter {
                    provider: None,
                    status: None,
                    due_before: None,
                    after_id,
                    limit: 1000,
                })
                .await
                .context("listing accounts")?;
            let Some(last) = page.last() else {
                return Ok(all);
            };
            after_id = last.id;
            all.extend(page);
        }
    }

    /// Whether the run of `slot` has finished, and how; `None` while none has started it.
    pub async fn run_of(&self, slot: DateTime<Utc>) -> anyhow::Result<Option<RunState>> {
        let runs = self.store.recent_runs(4).await?;
        Ok(runs
            .iter()
            .find(|r| r.slot == Some(slot))
            .map(|r| RunState {
                finished: r.finished_at.is_some(),
                outcome: r.outcome.to_string(),
            }))
    }
}

#[derive(Debug, Clone)]
pub struct RunState {
    pub finished: bool,
    pub outcome: String,
}
