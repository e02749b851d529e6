//! What the sweep writes: claims on due accounts, outcomes under the claimed version with
//! their outbox rows, the audit trail.

use super::webhooks::EventWrite;
use super::{on_each, SqlStore, Statement, Tx};
use crate::crypto::Row;
use crate::domain::{Account, AccountStatus, NewNotification, ProviderName, WebhookEventType};
use crate::store::rows::{self, AccountRow, RefreshLogRow};
use crate::store::{
    ClaimedBatch, Lease, RefreshLogEntry, RefreshLogStore, RefreshStore, RefreshWrite, StoreError,
    WebhookEvents,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::sync::LazyLock;

/// SQLite runs one writer at a time, so claiming in one statement can never take a row twice.
/// Rows another sweep holds are skipped by PostgreSQL, not waited for; the CTE is evaluated
/// once, so the LIMIT holds. MySQL claims in several statements (`claim_due_mysql`): this is
/// its first, which finds the due rows. Parameters: due_at, now, the networks left out (as
/// many as `left_out`), how many; then, but for MySQL, the lease's end and holder.
fn claim_due_text(dialect: super::Dialect, left_out: usize) -> String {
    let networks = if left_out == 0 {
        String::new()
    } else {
        format!(
            "\n      AND network NOT IN ({})",
            vec!["?"; left_out].join(", ")
        )
    };
    let due = format!(
        "
    SELECT id FROM social_network
    WHERE status IN ('active', 'refresh_failing') AND expiration <= ?
      AND (claimed_until IS NULL OR claimed_until < ?){networks}
    ORDER BY expiration, id
    LIMIT ?"
    );
    match dialect {
        super::Dialect::Sqlite => format!(
            "
WITH due AS ({due})
UPDATE social_network SET claimed_until = ?, claimed_by = ?, version = version + 1
WHERE id IN (SELECT id FROM due)
RETURNING *"
        ),
        super::Dialect::Postgres => format!(
            "
WITH due AS ({due}
    FOR UPDATE SKIP LOCKED)
UPDATE social_network s SET claimed_until = ?, claimed_by = ?, version = s.version + 1
FROM due WHERE s.id = due.id
RETURNING s.*"
        ),
        super::Dialect::MySql => due,
    }
}

/// The claim of a sweep that leaves no network out, as each database reads it.
static CLAIM_DUE: LazyLock<[Statement; 3]> = LazyLock::new(|| {
    [
        super::Dialect::Sqlite,
        super::Dialect::Postgres,
        super::Dialect::MySql,
    ]
    .map(|dialect| Statement::built(claim_due_text(dialect, 0)))
});

/// The claim leaving out `left_out` networks: the usual one when none is, else made for
/// this call (a sweep leaves out the few providers that stopped early).
fn claim_due_sql(dialect: super::Dialect, left_out: usize) -> Cow<'static, str> {
    if left_out == 0 {
        return Cow::Borrowed(claim_due_statement(dialect));
    }
    Cow::Owned(
        Statement::built(claim_due_text(dialect, left_out))
            .sql(dialect)
            .to_owned(),
    )
}

/// The claim statement of a dialect that claims in one statement, as the database reads it,
/// so the benchmark can ask the database how much of the table it reads. Parameters: due_at,
/// now, limit, the lease's end, its holder. MySQL claims in several statements; its first,
/// which finds the due rows, is given (parameters: due_at, now, limit).
pub fn claim_due_statement(dialect: super::Dialect) -> &'static str {
    let index = match dialect {
        super::Dialect::Sqlite => 0,
        super::Dialect::Postgres => 1,
        super::Dialect::MySql => 2,
    };
    CLAIM_DUE[index].sql(dialect)
}

#[cfg(feature = "mysql")]
/// How many more candidates than a batch a claim reads, so that claims racing for the same
/// oldest rows each find some left.
const CANDIDATES_PER_CLAIMED: i64 = 4;

#[cfg(feature = "mysql")]
/// Claims up to `limit` due accounts. MySQL has no UPDATE ... RETURNING and no LIMIT in an IN
/// subquery, and a locking read that sorts locks every row it examines, which would hand one
/// claimer the whole table and leave its rivals nothing to skip to. So the oldest due rows are
/// read without a lock, then locked by primary key (`SKIP LOCKED`, the due filter checked
/// again on the latest committed rows, so a row claimed meanwhile is not taken), claimed and
/// read back, in one transaction. Within the candidates, lower ids go first.
async fn claim_due_mysql(
    pool: &sqlx::MySqlPool,
    due_at: DateTime<Utc>,
    lease: &Lease,
    limit: i64,
    left_out: &[ProviderName],
) -> Result<Vec<AccountRow>, sqlx::Error> {
    let due = claim_due_sql(super::Dialect::MySql, left_out.len());
    let mut wanted = limit.saturating_mul(CANDIDATES_PER_CLAIMED);
    for _ in 0..3 {
        let mut query = sqlx::query_scalar(&due).bind(due_at).bind(lease.now);
        for network in left_out {
            query = query.bind(network.as_str());
        }
        let candidates: Vec<i64> = query.bind(wanted).fetch_all(pool).await?;
        if candidates.is_empty() {
            break;
        }
        let list = super::mysql::id_list(&candidates);
        let mut tx = pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM social_network
             WHERE id IN ({list}) AND status IN ('active', 'refresh_failing')
               AND expiration <= ? AND (claimed_until IS NULL OR claimed_until < ?)
             ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED"
        ))
        .bind(due_at)
        .bind(lease.now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            // Every candidate was being claimed by a rival: look further along.
            tx.rollback().await?;
            if (candidates.len() as i64) < wanted {
                break;
            }
            wanted = wanted.saturating_mul(2);
            continue;
        }
        let list = super::mysql::id_list(&ids);
        sqlx::query(&format!(
            "UPDATE social_network SET claimed_until = ?, claimed_by = ?, version = version + 1
             WHERE id IN ({list})"
        ))
        .bind(lease.until)
        .bind(lease.holder.as_str())
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query_as(&format!(
            "SELECT * FROM social_network WHERE id IN ({list})"
        ))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(rows);
    }
    Ok(Vec::new())
}

static LIST_DUE_FIRST: Statement = Statement::new(
    "SELECT * FROM social_network
     WHERE status IN ('active', 'refresh_failing') AND expiration <= ?
     ORDER BY expiration, id LIMIT ?",
);

static LIST_DUE_AFTER: Statement = Statement::new(
    "SELECT * FROM social_network
     WHERE status IN ('active', 'refresh_failing') AND expiration <= ?
       AND (expiration, id) > (?, ?)
     ORDER BY expiration, id LIMIT ?",
);

static WRITE_REFRESHED: Statement = Statement::new(
    "
UPDATE social_network SET token = ?, token_expires_at = ?, refresh_token = ?,
    refresh_token_expires_at = ?, scope = CASE WHEN ? = '' THEN scope ELSE ? END,
    expiration = ?, status = 'active', last_refreshed_at = ?, refresh_attempts = 0,
    last_error = NULL, claimed_until = NULL, claimed_by = NULL, updated_at = ?,
    version = version + 1
WHERE id = ? AND version = ?",
);

/// A failing account keeps its claim until the lease ends (`keep_claim`): it is still due,
/// and without the claim the same sweep would take it again at once. The next slot finds the
/// lease expired. Parameters: status, attempts to add, error, keep_claim twice, at, id,
/// version.
static WRITE_FAILED: Statement = Statement::new(
    "
UPDATE social_network SET status = ?, refresh_attempts = refresh_attempts + ?,
    last_error = ?,
    claimed_until = CASE WHEN ? THEN claimed_until ELSE NULL END,
    claimed_by = CASE WHEN ? THEN claimed_by ELSE NULL END,
    updated_at = ?, version = version + 1
WHERE id = ? AND version = ?",
);

/// Parameters: the new `expiration`, at, id, version.
static WRITE_POSTPONED: Statement = Statement::new(
    "
UPDATE social_network SET expiration = ?, claimed_until = NULL, claimed_by = NULL,
    updated_at = ?, version = version + 1
WHERE id = ? AND version = ?",
);

static RELEASE_CLAIM: Statement = Statement::new(
    "UPDATE social_network SET claimed_until = NULL, claimed_by = NULL WHERE id = ? AND version = ?",
);

static INSERT_REFRESH_LOG: Statement = Statement::new(
    "
INSERT INTO refresh_log (account_id, run_id, attempted_at, duration_ms, outcome, http_status,
    error_code, attempt)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
);

/// An existing dedupe key wins (SQLite and PostgreSQL).
static INSERT_NOTIFICATION: Statement = Statement::new(
    "
INSERT INTO notifications (account_id, kind, episode, dedupe_key, status, send_after, deadline,
    attempts, next_attempt_at, created_at)
VALUES (?, ?, ?, ?, 'pending', ?, ?, 0, ?, ?)
ON CONFLICT (dedupe_key) DO NOTHING",
);

/// MySQL's "an existing dedupe key wins". `ON DUPLICATE KEY UPDATE` would count an existing
/// row as written (sqlx asks for found rows), so IGNORE it is; the values are bounded and the
/// account is locked by the same transaction, so it hides no other error.
const INSERT_NOTIFICATION_MYSQL: &str = "
INSERT IGNORE INTO notifications (account_id, kind, episode, dedupe_key, status, send_after,
    deadline, attempts, next_attempt_at, created_at)
VALUES (?, ?, ?, ?, 'pending', ?, ?, 0, ?, ?)";

/// Appends the test of an account that waits for its member and is dead at `now` (see
/// `RefreshStore::expire_dead_accounts`): past its access token's end, or, for a provider in
/// `kept_by_refresh_token`, past its refresh token's known end (a NULL end is never past).
fn push_dead<'args, DB>(
    query: &mut sqlx::QueryBuilder<'args, DB>,
    now: DateTime<Utc>,
    kept_by_refresh_token: &'args [ProviderName],
) where
    DB: sqlx::Database,
    DateTime<Utc>: sqlx::Encode<'args, DB> + sqlx::Type<DB>,
    &'args str: sqlx::Encode<'args, DB> + sqlx::Type<DB>,
{
    query.push("status = 'needs_reconnect' AND ");
    if kept_by_refresh_token.is_empty() {
        query.push("token_expires_at <= ").push_bind(now);
        return;
    }
    let names = |query: &mut sqlx::QueryBuilder<'args, DB>| {
        let mut list = query.separated(", ");
        for name in kept_by_refresh_token {
            list.push_bind(name.as_str());
        }
    };
    query.push("((network NOT IN (");
    names(query);
    query.push(") AND token_expires_at <= ").push_bind(now);
    query.push(") OR (network IN (");
    names(query);
    query
        .push(") AND refresh_token_expires_at <= ")
        .push_bind(now)
        .push("))");
}

static PRUNE_LOG: Statement = Statement::new("DELETE FROM refresh_log WHERE attempted_at < ?");

static LOG_FOR: Statement =
    Statement::new("SELECT * FROM refresh_log WHERE account_id = ? ORDER BY id");

/// The event a refresh outcome is told by; none for a released claim.
fn refresh_event(write: &RefreshWrite) -> Option<EventWrite<'_>> {
    Some(match write {
        RefreshWrite::Refreshed { at, .. } => {
            EventWrite::new(WebhookEventType::Refreshed, None, *at)
        }
        RefreshWrite::Failing { error, at, .. } => {
            EventWrite::new(WebhookEventType::RefreshFailing, Some(error), *at)
        }
        RefreshWrite::NeedsReconnect { error, at, .. } => {
            EventWrite::new(WebhookEventType::NeedsReconnect, Some(error), *at)
        }
        RefreshWrite::Postponed { .. } | RefreshWrite::Release => return None,
    })
}

impl SqlStore {
    /// `expire_dead_accounts` while webhooks are on: each account is expired in a
    /// transaction with its `account.expired` event. The update re-checks the account's state,
    /// so an account reconnected since it was listed is left alone and told of by nothing.
    async fn expire_dead_accounts_one_by_one(
        &self,
        now: DateTime<Utc>,
        kept_by_refresh_token: &[ProviderName],
    ) -> Result<u64, StoreError> {
        let mut expired = 0;
        loop {
            let dead: Vec<(i64, String)> = on_each!(Pool, &self.pool, |pool, dialect| {
                let mut query =
                    sqlx::QueryBuilder::new("SELECT id, network FROM social_network WHERE ");
                push_dead(&mut query, now, kept_by_refresh_token);
                query.push(" ORDER BY id LIMIT ").push_bind(500_i64);
                query.build_query_as().fetch_all(pool).await?
            });
            if dead.is_empty() {
                return Ok(expired);
            }
            let mut tx = self.begin().await?;
            for (id, network) in &dead {
                let done = on_each!(Tx, &mut tx, |tx, dialect| {
                    let mut query = sqlx::QueryBuilder::new(
                        "UPDATE social_network SET status = 'expired', updated_at = ",
                    );
                    query
                        .push_bind(now)
                        .push(", version = version + 1 WHERE id = ")
                        .push_bind(*id)
                        .push(" AND ");
                    push_dead(&mut query, now, kept_by_refresh_token);
                    query.build().execute(&mut **tx).await?.rows_affected()
                });
                if done == 1 {
                    let by_refresh_token =
                        kept_by_refresh_token.iter().any(|p| p.as_str() == network);
                    let reason = match by_refresh_token {
                        true => "refresh_token_died",
                        false => "access_token_died",
                    };
                    let event = EventWrite::new(WebhookEventType::Expired, Some(reason), now);
                    self.record_event(&mut tx, *id, &event).await?;
                    expired += 1;
                }
            }
            tx.commit().await?;
        }
    }

    /// Outbox rows, inside the caller's transaction; an existing dedupe key wins.
    pub(super) async fn insert_notifications(
        tx: &mut Tx,
        notifications: &[NewNotification],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        for n in notifications {
            added += on_each!(Tx, &mut *tx, |tx, dialect| {
                let sql = match dialect {
                    super::Dialect::MySql => INSERT_NOTIFICATION_MYSQL,
                    _ => INSERT_NOTIFICATION.sql(dialect),
                };
                sqlx::query(sql)
                    .bind(n.account_id)
                    .bind(n.kind)
                    .bind(n.episode.as_str())
                    .bind(n.dedupe_key())
                    .bind(n.send_after)
                    .bind(n.deadline)
                    .bind(n.send_after)
                    .bind(at)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
            });
        }
        Ok(added)
    }
}

#[async_trait]
impl RefreshStore for SqlStore {
    async fn claim_due_except(
        &self,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
        left_out: &[ProviderName],
    ) -> Result<ClaimedBatch, StoreError> {
        let rows: Vec<AccountRow> = on_each!(Pool, &self.pool, [Sqlite, Postgres] |pool, dialect| {
            let sql = claim_due_sql(dialect, left_out.len());
            let mut query = sqlx::query_as(&sql).bind(due_at).bind(lease.now);
            for network in left_out {
                query = query.bind(network.as_str());
            }
            query
                .bind(limit)
                .bind(lease.until)
                .bind(lease.holder.as_str())
                .fetch_all(pool)
                .await?
        }, #[cfg(feature = "mysql")] super::Pool::MySql(pool) => {
            claim_due_mysql(pool, due_at, lease, limit, left_out).await?
        });
        let tokens = self.tokens();
        let mut batch = ClaimedBatch::default();
        for row in rows {
            match row.open(&tokens) {
                Ok(account) => batch.accounts.push(account),
                Err(unreadable) => batch.unreadable.push(unreadable),
            }
        }
        // RETURNING keeps no order: oldest due first.
        batch.accounts.sort_by_key(|a| (a.expiration, a.id));
        Ok(batch)
    }

    async fn list_due(
        &self,
        due_at: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| match after {
            None => {
                sqlx::query_as(LIST_DUE_FIRST.sql(dialect))
                    .bind(due_at)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Some((expiration, id)) => {
                sqlx::query_as(LIST_DUE_AFTER.sql(dialect))
                    .bind(due_at)
                    .bind(expiration)
                    .bind(id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        });
        Ok(rows::readable_accounts(rows, &self.tokens()))
    }

    async fn complete_refresh(
        &self,
        claimed: &Account,
        write: &RefreshWrite,
        log: &[RefreshLogEntry],
    ) -> Result<bool, StoreError> {
        let (account_id, claimed_version) = (claimed.id, claimed.version);
        let mut tx = self.begin().await?;
        let (updated, notifications, at) = match write {
            RefreshWrite::Refreshed {
                tokens,
                expiration,
                at,
            } => {
                let row = Row::new(&claimed.provider, &claimed.user_id);
                let token = self.cipher.seal(row, &tokens.access_token);
                let refresh_token = tokens
                    .refresh_token
                    .as_ref()
                    .map(|refresh| self.cipher.seal(row, refresh));
                let done = on_each!(Tx, &mut tx, |tx, dialect| {
                    sqlx::query(WRITE_REFRESHED.sql(dialect))
                        .bind(token.as_str())
                        .bind(tokens.token_expires_at)
                        .bind(refresh_token.as_deref())
                        .bind(tokens.refresh_token_expires_at)
                        .bind(tokens.scope.as_str())
                        .bind(tokens.scope.as_str())
                        .bind(*expiration)
                        .bind(*at)
                        .bind(*at)
                        .bind(account_id)
                        .bind(claimed_version)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected()
                });
                (done, &[][..], *at)
            }
            RefreshWrite::Failing {
                error,
                at,
                notifications,
            }
            | RefreshWrite::NeedsReconnect {
                error,
                at,
                notifications,
            } => {
                let status = write
                    .account_status()
                    .expect("a failure always sets a status");
                let failing = status == AccountStatus::RefreshFailing;
                let done = on_each!(Tx, &mut tx, |tx, dialect| {
                    sqlx::query(WRITE_FAILED.sql(dialect))
                        .bind(status)
                        .bind(i32::from(failing))
                        .bind(error.as_str())
                        .bind(failing)
                        .bind(failing)
                        .bind(*at)
                        .bind(account_id)
                        .bind(claimed_version)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected()
                });
                (done, &notifications[..], *at)
            }
            RefreshWrite::Postponed { until, at } => {
                let done = on_each!(Tx, &mut tx, |tx, dialect| {
                    sqlx::query(WRITE_POSTPONED.sql(dialect))
                        .bind(*until)
                        .bind(*at)
                        .bind(account_id)
                        .bind(claimed_version)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected()
                });
                (done, &[][..], *at)
            }
            RefreshWrite::Release => {
                let done = on_each!(Tx, &mut tx, |tx, dialect| {
                    sqlx::query(RELEASE_CLAIM.sql(dialect))
                        .bind(account_id)
                        .bind(claimed_version)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected()
                });
                (done, &[][..], Utc::now())
            }
        };
        for e in log {
            on_each!(Tx, &mut tx, |tx, dialect| {
                sqlx::query(INSERT_REFRESH_LOG.sql(dialect))
                    .bind(e.account_id)
                    .bind(e.run_id)
                    .bind(e.attempted_at)
                    .bind(e.duration_ms)
                    .bind(e.outcome)
                    .bind(e.http_status)
                    .bind(e.error_code.as_deref())
                    .bind(e.attempt)
                    .execute(&mut **tx)
                    .await?;
            });
        }
        if updated == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        Self::insert_notifications(&mut tx, notifications, at).await?;
        if let Some(event) = refresh_event(write) {
            self.record_event(&mut tx, account_id, &event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn expire_dead_accounts(
        &self,
        now: DateTime<Utc>,
        kept_by_refresh_token: &[ProviderName],
    ) -> Result<u64, StoreError> {
        if self.webhooks != WebhookEvents::Off {
            return self
                .expire_dead_accounts_one_by_one(now, kept_by_refresh_token)
                .await;
        }
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            let mut query = sqlx::QueryBuilder::new(
                "UPDATE social_network SET status = 'expired', updated_at = ",
            );
            query.push_bind(now).push(", version = version + 1 WHERE ");
            push_dead(&mut query, now, kept_by_refresh_token);
            query.build().execute(pool).await?.rows_affected()
        }))
    }

    async fn prune_refresh_log(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(PRUNE_LOG.sql(dialect))
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

#[async_trait]
impl RefreshLogStore for SqlStore {
    async fn refresh_log_for(&self, account_id: i64) -> Result<Vec<RefreshLogEntry>, StoreError> {
        let rows: Vec<RefreshLogRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(LOG_FOR.sql(dialect))
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
