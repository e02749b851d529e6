//! The dashboard's statements. Outcomes per day are counted by the database in one
//! statement, with each dialect's way of turning a timestamp into whole days.

use super::{on_each, Dialect, SqlStore, Statement};
use crate::domain::EnumText;
use crate::domain::{AccountStatus, NotificationStatus, ProviderName, RefreshOutcome};
use crate::store::admin::{AccountSearch, AdminStore, FailedDelivery, OutcomeCount};
use crate::store::exact_text::ExactText;
use crate::store::rows::{NotificationRow, SummaryRow, SweepRunRow};
use crate::store::{AccountSummary, StoreError, StoredNotification, SweepRun};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

static BY_STATUS: Statement =
    Statement::new("SELECT status, COUNT(*) FROM social_network GROUP BY status");

/// No token column is read. Parameters: after_id, status twice, query three times, the
/// provider (NULL: every provider's), limit.
static SEARCH: Statement = Statement::new(
    "
SELECT id, user_id, network, member_id, email, status, token_expires_at,
    refresh_token IS NOT NULL AS has_refresh_token, refresh_token_expires_at, expiration,
    linked_at, last_refreshed_at
FROM social_network
WHERE id > ? AND (? IS NULL OR status = ?)
    AND (? IS NULL OR user_id = ? OR LOWER(email) = LOWER(?))
    AND network = COALESCE(?, network)
ORDER BY id
LIMIT ?",
);

static FAILED: Statement = Statement::new(
    "
SELECT n.id, n.account_id, s.user_id, n.kind, n.attempts, n.last_error, n.created_at
FROM notifications n JOIN social_network s ON s.id = n.account_id
WHERE n.status = 'failed'
ORDER BY n.id DESC
LIMIT ?",
);

/// Parameters: now, id.
static RETRY: Statement = Statement::new(
    "
UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ?,
    claimed_until = NULL, claimed_by = NULL, last_error = NULL
WHERE id = ? AND status = 'failed'",
);

/// The latest reconnect email of an account that still needs reconnecting: only such an
/// account's latest one belongs to its current episode.
static LATEST_RECONNECT_EMAIL: Statement = Statement::new(
    "
SELECT n.id FROM notifications n
JOIN social_network a ON a.id = n.account_id
WHERE n.account_id = ? AND a.status = 'needs_reconnect'
  AND n.kind IN ('reconnect_required', 'reconnect_due')
ORDER BY n.created_at DESC, n.id DESC
LIMIT 1",
);

static RECENT_RUNS: Statement = Statement::new("SELECT * FROM sweep_runs ORDER BY id DESC LIMIT ?");

static NOTIFICATION_COUNTS: Statement =
    Statement::new("SELECT status, COUNT(*) FROM notifications GROUP BY status ORDER BY status");

static NOTIFICATIONS_FOR: Statement =
    Statement::new("SELECT * FROM notifications WHERE account_id = ? ORDER BY id");

static RESEND: Statement = Statement::new(
    "
UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ?,
    claimed_until = NULL, claimed_by = NULL, last_error = NULL
WHERE id = ? AND status IN ('sent', 'failed')
  -- A member who reconnected since the read above is not emailed again.
  AND EXISTS (SELECT 1 FROM social_network a
              WHERE a.id = notifications.account_id AND a.status = 'needs_reconnect')",
);

/// `{day}` is whole days from the start (parameter 1, Unix seconds); parameter 2 is the start
/// as a timestamp, which the time index serves.
const OUTCOMES: &str = "
SELECT {day} AS day, outcome, COUNT(*) AS attempts
FROM refresh_log
WHERE attempted_at >= ?
GROUP BY day, outcome";

fn outcomes_statement(dialect: Dialect) -> &'static str {
    static STATEMENTS: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let [sqlite, postgres, mysql] = STATEMENTS.get_or_init(|| {
        let day = |expression: &str| OUTCOMES.replace("{day}", expression);
        [
            day("(CAST(strftime('%s', attempted_at) AS INTEGER) - ?) / 86400"),
            day("(FLOOR(EXTRACT(EPOCH FROM attempted_at))::BIGINT - $1) / 86400").replacen(
                "attempted_at >= ?",
                "attempted_at >= $2",
                1,
            ),
            // Connections run at +00:00, so UNIX_TIMESTAMP reads the DATETIME as UTC.
            day("(FLOOR(UNIX_TIMESTAMP(attempted_at)) - ?) DIV 86400"),
        ]
    });
    match dialect {
        Dialect::Sqlite => sqlite,
        Dialect::Postgres => postgres,
        Dialect::MySql => mysql,
    }
}

#[async_trait]
impl AdminStore for SqlStore {
    async fn accounts_by_status(&self) -> Result<Vec<(AccountStatus, i64)>, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(BY_STATUS.sql(dialect))
                .fetch_all(pool)
                .await?
        }))
    }

    async fn recent_runs(&self, limit: i64) -> Result<Vec<SweepRun>, StoreError> {
        let rows: Vec<SweepRunRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(RECENT_RUNS.sql(dialect))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn notification_counts(&self) -> Result<Vec<(NotificationStatus, i64)>, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(NOTIFICATION_COUNTS.sql(dialect))
                .fetch_all(pool)
                .await?
        }))
    }

    async fn notifications_for(
        &self,
        account_id: i64,
    ) -> Result<Vec<StoredNotification>, StoreError> {
        let rows: Vec<NotificationRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(NOTIFICATIONS_FOR.sql(dialect))
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn search_accounts_of(
        &self,
        search: &AccountSearch,
        provider: Option<&ProviderName>,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let status = search.status.map(AccountStatus::as_str);
        let query = search.query.as_deref();
        let rows: Vec<SummaryRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(SEARCH.sql(dialect))
                .bind(search.after_id)
                .bind(status)
                .bind(status)
                .bind(query)
                .bind(query)
                .bind(query)
                .bind(provider.map(ProviderName::as_str))
                .bind(search.limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(AccountSummary::try_from).collect()
    }

    async fn refresh_outcomes_by_day(
        &self,
        from: DateTime<Utc>,
    ) -> Result<Vec<OutcomeCount>, StoreError> {
        let rows: Vec<(i64, RefreshOutcome, i64)> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(outcomes_statement(dialect))
                .bind(from.timestamp())
                .bind(from)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(day, outcome, attempts)| OutcomeCount {
                day,
                outcome,
                attempts,
            })
            .collect())
    }

    async fn failed_deliveries(&self, limit: i64) -> Result<Vec<FailedDelivery>, StoreError> {
        type Row = (
            i64,
            i64,
            ExactText,
            String,
            i32,
            Option<String>,
            DateTime<Utc>,
        );
        let rows: Vec<Row> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(FAILED.sql(dialect))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, account_id, ExactText(user_id), kind, attempts, last_error, created_at)| {
                    FailedDelivery {
                        id,
                        account_id,
                        user_id,
                        kind,
                        attempts,
                        last_error,
                        created_at,
                    }
                },
            )
            .collect())
    }

    async fn retry_delivery(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let changed = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(RETRY.sql(dialect))
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    async fn resend_reconnect_email(
        &self,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let latest: Option<i64> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_scalar(LATEST_RECONNECT_EMAIL.sql(dialect))
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        let Some(id) = latest else {
            return Ok(None);
        };
        let changed = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(RESEND.sql(dialect))
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok((changed == 1).then_some(id))
    }
}
