//! The outbox: claims on due notifications under an owner, and the owner's marks.

use super::{on_each, SqlStore, Statement, Tx};
use crate::domain::EnumText;
use crate::domain::{Account, NewNotification, NotificationKind, NotificationStatus};
use crate::store::rows::{self, AccountRow};
use crate::store::{ClaimedNotification, Lease, OutboxStore, PendingEmail, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Notifications due for delivery, claimed in one statement like accounts, each claim under
/// its owner's token. Parameters: now three times, limit, the lease's end, its holder.
static CLAIM_SQLITE: Statement = Statement::new(
    "
WITH due AS (
    SELECT id FROM notifications
    WHERE status = 'pending' AND send_after <= ? AND next_attempt_at <= ?
      AND (claimed_until IS NULL OR claimed_until < ?)
    ORDER BY id
    LIMIT ?)
UPDATE notifications SET claimed_until = ?, claimed_by = ?
WHERE id IN (SELECT id FROM due)
RETURNING id, account_id, kind, dedupe_key, deadline, attempts",
);

/// Rows another worker holds are skipped; a row whose claim was renewed or cancelled
/// meanwhile is re-checked under the lock, so it is not taken. Same parameters.
static CLAIM_POSTGRES: Statement = Statement::new(
    "
WITH due AS (
    SELECT id FROM notifications
    WHERE status = 'pending' AND send_after <= ? AND next_attempt_at <= ?
      AND (claimed_until IS NULL OR claimed_until < ?)
    ORDER BY id
    LIMIT ?
    FOR UPDATE SKIP LOCKED)
UPDATE notifications n SET claimed_until = ?, claimed_by = ?
FROM due WHERE n.id = due.id
RETURNING n.id, n.account_id, n.kind, n.dedupe_key, n.deadline, n.attempts",
);

/// MySQL locks the due rows first, then claims and reads them by id.
const CLAIM_SELECTION_MYSQL: &str = "
SELECT id FROM notifications
WHERE status = 'pending' AND send_after <= ? AND next_attempt_at <= ?
  AND (claimed_until IS NULL OR claimed_until < ?)
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED";

/// An outbox row is written only by the owner of its current claim (`claimed_by`), and only
/// while it is pending: a reconnect's cancellation, or another worker that took over an
/// expired claim, wins over a worker that was still busy with the row.
static RENEW_CLAIM: Statement = Statement::new(
    "UPDATE notifications SET claimed_until = ?
     WHERE id = ? AND claimed_by = ? AND status = 'pending'",
);

static MARK_SENT: Statement = Statement::new(
    "UPDATE notifications SET status = 'sent', message_id = ?, sent_at = ?,
        attempts = attempts + 1, last_error = NULL, claimed_until = NULL, claimed_by = NULL
     WHERE id = ? AND claimed_by = ? AND status = 'pending'",
);

static MARK_RETRY: Statement = Statement::new(
    "UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
        claimed_until = NULL, claimed_by = NULL
     WHERE id = ? AND claimed_by = ? AND status = 'pending'",
);

static MARK_FAILED: Statement = Statement::new(
    "UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?,
        claimed_until = NULL, claimed_by = NULL
     WHERE id = ? AND claimed_by = ? AND status = 'pending'",
);

static REFRESH_TOKENS_ENDING: Statement = Statement::new(
    "SELECT * FROM social_network
     WHERE status IN ('active', 'refresh_failing') AND refresh_token IS NOT NULL
       AND refresh_token_expires_at > ? AND refresh_token_expires_at <= ? AND id > ?
     ORDER BY id LIMIT ?",
);

static COUNTS: Statement =
    Statement::new("SELECT status, COUNT(*) FROM notifications GROUP BY status ORDER BY status");

type ClaimedRow = (i64, i64, String, String, DateTime<Utc>, i32);

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_notifications(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let mut tx = self.begin().await?;
        let claimed: Vec<ClaimedRow> = on_each!(Tx, &mut tx, [Sqlite, Postgres] |tx, dialect| {
            let sql = match dialect {
                super::Dialect::Postgres => CLAIM_POSTGRES.sql(dialect),
                _ => CLAIM_SQLITE.sql(dialect),
            };
            sqlx::query_as(sql)
                .bind(lease.now)
                .bind(lease.now)
                .bind(lease.now)
                .bind(limit)
                .bind(lease.until)
                .bind(lease.holder.as_str())
                .fetch_all(&mut **tx)
                .await?
        }, Tx::MySql(tx) => {
            let ids: Vec<i64> = sqlx::query_scalar(CLAIM_SELECTION_MYSQL)
                .bind(lease.now)
                .bind(lease.now)
                .bind(lease.now)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
            if ids.is_empty() {
                Vec::new()
            } else {
                let list = super::mysql::id_list(&ids);
                sqlx::query(&format!(
                    "UPDATE notifications SET claimed_until = ?, claimed_by = ? WHERE id IN ({list})"
                ))
                .bind(lease.until)
                .bind(lease.holder.as_str())
                .execute(&mut **tx)
                .await?;
                sqlx::query_as(&format!(
                    "SELECT id, account_id, kind, dedupe_key, deadline, attempts FROM notifications WHERE id IN ({list})"
                ))
                .fetch_all(&mut **tx)
                .await?
            }
        });
        let mut out = Vec::with_capacity(claimed.len());
        for (id, account_id, kind, dedupe_key, deadline, attempts) in claimed {
            let row: AccountRow = on_each!(Tx, &mut tx, |tx, dialect| {
                sqlx::query_as(super::accounts::BY_ID.sql(dialect))
                    .bind(account_id)
                    .fetch_one(&mut **tx)
                    .await?
            });
            // A damaged account holds back its own email only; the claim lapses by itself.
            let Some(account) = rows::readable_accounts(vec![row], &self.tokens()).pop() else {
                continue;
            };
            // Read as text, so that one unknown kind does not fail the batch's decoding.
            out.push(match NotificationKind::parse(&kind) {
                Ok(kind) => ClaimedNotification::Email(Box::new(PendingEmail {
                    id,
                    kind,
                    dedupe_key,
                    deadline,
                    attempts,
                    account,
                })),
                Err(_) => ClaimedNotification::UnknownKind { id, account_id },
            });
        }
        tx.commit().await?;
        out.sort_by_key(ClaimedNotification::id);
        Ok(out)
    }

    async fn renew_notification_claim(&self, id: i64, lease: &Lease) -> Result<bool, StoreError> {
        let done = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(RENEW_CLAIM.sql(dialect))
                .bind(lease.until)
                .bind(id)
                .bind(lease.holder.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn mark_sent(
        &self,
        id: i64,
        holder: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(MARK_SENT.sql(dialect))
                .bind(message_id)
                .bind(at)
                .bind(id)
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn mark_retry(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(MARK_RETRY.sql(dialect))
                .bind(error)
                .bind(next_attempt_at)
                .bind(id)
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn mark_failed(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        status: NotificationStatus,
    ) -> Result<bool, StoreError> {
        let done = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(MARK_FAILED.sql(dialect))
                .bind(status)
                .bind(error)
                .bind(id)
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn add_notifications(
        &self,
        notifications: &[NewNotification],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let added = Self::insert_notifications(&mut tx, notifications, at).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn refresh_tokens_ending(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(REFRESH_TOKENS_ENDING.sql(dialect))
                .bind(now)
                .bind(until)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows::accounts(rows, &self.tokens())
    }

    async fn notification_counts(&self) -> Result<Vec<(NotificationStatus, i64)>, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(COUNTS.sql(dialect)).fetch_all(pool).await?
        }))
    }
}
