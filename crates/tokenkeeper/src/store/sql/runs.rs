//! Sweep runs: one row per run, and a scheduled slot started at most once.

use super::{on_each, SqlStore, Statement};
use crate::domain::SweepOutcome;
use crate::store::{RunStore, StoreError, SweepCounts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A slot another instance has started yields no row (SQLite and PostgreSQL).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
static START_RUN: Statement = Statement::new(
    "INSERT INTO sweep_runs (slot, started_at, as_of, outcome) VALUES (?, ?, ?, 'running')
     ON CONFLICT (slot) DO NOTHING RETURNING id",
);

/// MySQL: the unique slot refuses a second start, which IGNORE turns into "no row added".
#[cfg(feature = "mysql")]
const START_RUN_MYSQL: &str =
    "INSERT IGNORE INTO sweep_runs (slot, started_at, as_of, outcome) VALUES (?, ?, ?, 'running')";

static FINISH_RUN: Statement = Statement::new(
    "UPDATE sweep_runs SET finished_at = ?, due = ?, refreshed = ?, failing = ?,
        needs_reconnect = ?, skipped = ?, unreadable = ?, outcome = ?, error = ?
     WHERE id = ?",
);

static LATEST_SLOT: Statement =
    Statement::new("SELECT slot FROM sweep_runs WHERE slot IS NOT NULL ORDER BY slot DESC LIMIT 1");

#[async_trait]
impl RunStore for SqlStore {
    async fn start_run(
        &self,
        slot: Option<DateTime<Utc>>,
        started_at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(
            on_each!(Pool, &self.pool, [Sqlite, Postgres] |pool, dialect| {
                sqlx::query_scalar(START_RUN.sql(dialect))
                    .bind(slot)
                    .bind(started_at)
                    .bind(as_of)
                    .fetch_optional(pool)
                    .await?
            }, #[cfg(feature = "mysql")] super::Pool::MySql(pool) => {
                let done = sqlx::query(START_RUN_MYSQL)
                    .bind(slot)
                    .bind(started_at)
                    .bind(as_of)
                    .execute(pool)
                    .await?;
                (done.rows_affected() == 1).then(|| done.last_insert_id() as i64)
            }),
        )
    }

    async fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        counts: &SweepCounts,
        outcome: SweepOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(FINISH_RUN.sql(dialect))
                .bind(finished_at)
                .bind(counts.due)
                .bind(counts.refreshed)
                .bind(counts.failing)
                .bind(counts.needs_reconnect)
                .bind(counts.skipped)
                .bind(counts.unreadable)
                .bind(outcome)
                .bind(error)
                .bind(run_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn latest_slot(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_scalar(LATEST_SLOT.sql(dialect))
                .fetch_optional(pool)
                .await?
        }))
    }
}
