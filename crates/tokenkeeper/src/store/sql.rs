//! The SQL both backends share. SQLite and PostgreSQL agree on almost everything we need
//! (`$n` parameters, `ON CONFLICT`, `RETURNING`, row values), so the statements are written
//! once and instantiated per backend by `impl_store!`; only claiming differs (PostgreSQL locks
//! with `FOR UPDATE SKIP LOCKED`, SQLite serialises writers by itself).

/// `$12` allows replacing the LinkedIn member of an existing row; without it, a row of another
/// member is left as it is and nothing is returned. Deciding in the statement itself leaves no
/// gap between a check and the write.
pub(super) const SAVE_LINKED_ACCOUNT: &str = "
INSERT INTO social_network (user_id, network, member_id, email, name, token, token_expires_at,
    refresh_token, refresh_token_expires_at, scope, expiration, status, linked_at,
    refresh_attempts, created_at, updated_at, version)
VALUES ($1, 'linkedin', $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, 0, $11, $11, 1)
ON CONFLICT (user_id, network) DO UPDATE SET
    member_id = excluded.member_id, email = excluded.email, name = excluded.name,
    token = excluded.token, token_expires_at = excluded.token_expires_at,
    refresh_token = excluded.refresh_token,
    refresh_token_expires_at = excluded.refresh_token_expires_at,
    scope = excluded.scope, expiration = excluded.expiration, status = 'active',
    linked_at = excluded.linked_at, refresh_attempts = 0, last_error = NULL,
    claimed_until = NULL, claimed_by = NULL, updated_at = excluded.updated_at,
    version = social_network.version + 1
WHERE social_network.member_id = excluded.member_id OR $12
RETURNING *";

/// Reconnecting ends the episode: reminders still waiting for it are not sent.
pub(super) const CANCEL_PENDING_NOTIFICATIONS: &str =
    "UPDATE notifications SET status = 'cancelled' WHERE account_id = $1 AND status = 'pending'";

pub(super) const DUE_FILTER: &str = "status IN ('active', 'refresh_failing') AND expiration <= $1";

pub(super) const WRITE_REFRESHED: &str = "
UPDATE social_network SET token = $1, token_expires_at = $2, refresh_token = $3,
    refresh_token_expires_at = $4, scope = CASE WHEN $5 = '' THEN scope ELSE $5 END,
    expiration = $6, status = 'active', last_refreshed_at = $7, refresh_attempts = 0,
    last_error = NULL, claimed_until = NULL, claimed_by = NULL, updated_at = $7,
    version = version + 1
WHERE id = $8 AND version = $9";

/// A failing account keeps its claim until the lease ends: it is still due, and without the
/// claim the same sweep would take it again at once. The next slot finds the lease expired.
pub(super) const WRITE_FAILED: &str = "
UPDATE social_network SET status = $1,
    refresh_attempts = refresh_attempts + CASE WHEN $1 = 'refresh_failing' THEN 1 ELSE 0 END,
    last_error = $2,
    claimed_until = CASE WHEN $1 = 'refresh_failing' THEN claimed_until ELSE NULL END,
    claimed_by = CASE WHEN $1 = 'refresh_failing' THEN claimed_by ELSE NULL END,
    updated_at = $3, version = version + 1
WHERE id = $4 AND version = $5";

pub(super) const RELEASE_CLAIM: &str =
    "UPDATE social_network SET claimed_until = NULL, claimed_by = NULL WHERE id = $1 AND version = $2";

pub(super) const INSERT_NOTIFICATION: &str = "
INSERT INTO notifications (account_id, kind, episode, dedupe_key, status, send_after, deadline,
    attempts, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, 'pending', $5, $6, 0, $5, $7)
ON CONFLICT (dedupe_key) DO NOTHING";

/// An outbox row is written only by the owner of its current claim (`claimed_by`), and only
/// while it is pending: a reconnect's cancellation (above), or another worker that took over
/// an expired claim, wins over a worker that was still busy with the row.
pub(super) const RENEW_NOTIFICATION_CLAIM: &str = "
UPDATE notifications SET claimed_until = $1
WHERE id = $2 AND claimed_by = $3 AND status = 'pending'";

pub(super) const MARK_NOTIFICATION_SENT: &str = "
UPDATE notifications SET status = 'sent', message_id = $1, sent_at = $2,
    attempts = attempts + 1, last_error = NULL, claimed_until = NULL, claimed_by = NULL
WHERE id = $3 AND claimed_by = $4 AND status = 'pending'";

pub(super) const MARK_NOTIFICATION_RETRY: &str = "
UPDATE notifications SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
    claimed_until = NULL, claimed_by = NULL
WHERE id = $3 AND claimed_by = $4 AND status = 'pending'";

pub(super) const MARK_NOTIFICATION_FAILED: &str = "
UPDATE notifications SET status = $1, attempts = attempts + 1, last_error = $2,
    claimed_until = NULL, claimed_by = NULL
WHERE id = $3 AND claimed_by = $4 AND status = 'pending'";

pub(super) const INSERT_REFRESH_LOG: &str = "
INSERT INTO refresh_log (account_id, run_id, attempted_at, duration_ms, outcome, http_status,
    error_code, attempt)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Implements `Store`, `RefreshStore` and `RunStore` for a backend whose struct has a
/// `pool` field, given its claim statement.
macro_rules! impl_store {
    ($store:ty, $db:ty, $claim_sql:expr, $claim_notifications_sql:expr) => {
        impl $store {
            /// Inserts or replaces the user's account inside the caller's transaction and ends
            /// its reconnect episode. `None` when the row belongs to another LinkedIn member
            /// and `allow_member_change` is false: then nothing was written.
            async fn upsert_linked_account(
                tx: &mut sqlx::Transaction<'_, $db>,
                account: &$crate::domain::LinkedAccount,
                allow_member_change: bool,
            ) -> Result<Option<$crate::domain::Account>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                let tokens = account.tokens();
                let row: Option<$crate::store::rows::AccountRow> =
                    sqlx::query_as(SAVE_LINKED_ACCOUNT)
                        .bind(account.user_id().as_str())
                        .bind(account.member_id().as_str())
                        .bind(account.email().as_str())
                        .bind(account.name())
                        .bind(tokens.access_token.expose())
                        .bind(tokens.token_expires_at)
                        .bind(tokens.refresh_token.as_ref().map(|t| t.expose()))
                        .bind(tokens.refresh_token_expires_at)
                        .bind(tokens.scope.as_str())
                        .bind(account.expiration())
                        .bind(account.linked_at())
                        .bind(allow_member_change)
                        .fetch_optional(&mut **tx)
                        .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let stored = $crate::domain::Account::try_from(row)?;
                sqlx::query(CANCEL_PENDING_NOTIFICATIONS)
                    .bind(stored.id)
                    .execute(&mut **tx)
                    .await?;
                Ok(Some(stored))
            }

            /// Outbox rows, inside the caller's transaction; an existing dedupe key wins.
            async fn insert_notifications(
                tx: &mut sqlx::Transaction<'_, $db>,
                notifications: &[$crate::domain::NewNotification],
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                let mut added = 0;
                for n in notifications {
                    added += sqlx::query($crate::store::sql::INSERT_NOTIFICATION)
                        .bind(n.account_id)
                        .bind(n.kind.as_str())
                        .bind(n.episode.as_str())
                        .bind(n.dedupe_key())
                        .bind(n.send_after)
                        .bind(n.deadline)
                        .bind(at)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected();
                }
                Ok(added)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> Result<(), $crate::store::StoreError> {
                self.run_migrations().await
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn unapplied_migrations(&self) -> Result<Vec<i64>, $crate::store::StoreError> {
                let applied = sqlx::query_scalar($crate::store::migrations::APPLIED)
                    .fetch_all(&self.pool)
                    .await;
                $crate::store::migrations::unapplied(&Self::migrator(), applied)
            }

            async fn save_linked_account(
                &self,
                account: &$crate::domain::LinkedAccount,
            ) -> Result<$crate::domain::Account, $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let stored = Self::upsert_linked_account(&mut tx, account, true)
                    .await?
                    .expect("a write allowed to change the member always stores a row");
                tx.commit().await?;
                Ok(stored)
            }

            async fn account_by_user(
                &self,
                user_id: &$crate::domain::UserId,
            ) -> Result<Option<$crate::domain::Account>, $crate::store::StoreError> {
                let row: Option<$crate::store::rows::AccountRow> = sqlx::query_as(
                    "SELECT * FROM social_network WHERE user_id = $1 AND network = 'linkedin'",
                )
                .bind(user_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.map($crate::domain::Account::try_from).transpose()
            }

            async fn account_by_id(
                &self,
                id: i64,
            ) -> Result<Option<$crate::domain::Account>, $crate::store::StoreError> {
                let row: Option<$crate::store::rows::AccountRow> =
                    sqlx::query_as("SELECT * FROM social_network WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map($crate::domain::Account::try_from).transpose()
            }

            async fn list_accounts(
                &self,
                after_id: i64,
                limit: i64,
            ) -> Result<Vec<$crate::domain::Account>, $crate::store::StoreError> {
                let rows = sqlx::query_as(
                    "SELECT * FROM social_network WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                $crate::store::rows::accounts(rows)
            }

            async fn count_accounts(&self) -> Result<i64, $crate::store::StoreError> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM social_network")
                    .fetch_one(&self.pool)
                    .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::RefreshStore for $store {
            async fn claim_due(
                &self,
                due_at: chrono::DateTime<chrono::Utc>,
                lease: &$crate::store::Lease,
                limit: i64,
            ) -> Result<Vec<$crate::domain::Account>, $crate::store::StoreError> {
                let rows = sqlx::query_as($claim_sql)
                    .bind(due_at)
                    .bind(lease.until)
                    .bind(lease.holder.as_str())
                    .bind(lease.now)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                let mut accounts = $crate::store::rows::accounts(rows)?;
                // RETURNING keeps no order: oldest due first.
                accounts.sort_by_key(|a| (a.expiration, a.id));
                Ok(accounts)
            }

            async fn list_due(
                &self,
                due_at: chrono::DateTime<chrono::Utc>,
                after: Option<(chrono::DateTime<chrono::Utc>, i64)>,
                limit: i64,
            ) -> Result<Vec<$crate::domain::Account>, $crate::store::StoreError> {
                use $crate::store::sql::DUE_FILTER;
                let rows = match after {
                    None => sqlx::query_as(&format!(
                        "SELECT * FROM social_network WHERE {DUE_FILTER} ORDER BY expiration, id LIMIT $2"
                    ))
                    .bind(due_at)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?,
                    Some((expiration, id)) => sqlx::query_as(&format!(
                        "SELECT * FROM social_network WHERE {DUE_FILTER} AND (expiration, id) > ($2, $3) ORDER BY expiration, id LIMIT $4"
                    ))
                    .bind(due_at)
                    .bind(expiration)
                    .bind(id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?,
                };
                $crate::store::rows::accounts(rows)
            }

            async fn complete_refresh(
                &self,
                account_id: i64,
                claimed_version: i64,
                write: &$crate::store::RefreshWrite,
                log: &[$crate::store::RefreshLogEntry],
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::sql::*;
                use $crate::store::RefreshWrite;
                let mut tx = self.pool.begin().await?;
                let (updated, notifications, at) = match write {
                    RefreshWrite::Refreshed {
                        tokens,
                        expiration,
                        at,
                    } => {
                        let done = sqlx::query(WRITE_REFRESHED)
                            .bind(tokens.access_token.expose())
                            .bind(tokens.token_expires_at)
                            .bind(tokens.refresh_token.as_ref().map(|t| t.expose()))
                            .bind(tokens.refresh_token_expires_at)
                            .bind(tokens.scope.as_str())
                            .bind(*expiration)
                            .bind(*at)
                            .bind(account_id)
                            .bind(claimed_version)
                            .execute(&mut *tx)
                            .await?;
                        (done.rows_affected(), &[][..], *at)
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
                        let status = if matches!(write, RefreshWrite::Failing { .. }) {
                            "refresh_failing"
                        } else {
                            "needs_reconnect"
                        };
                        let done = sqlx::query(WRITE_FAILED)
                            .bind(status)
                            .bind(error.as_str())
                            .bind(*at)
                            .bind(account_id)
                            .bind(claimed_version)
                            .execute(&mut *tx)
                            .await?;
                        (done.rows_affected(), &notifications[..], *at)
                    }
                    RefreshWrite::Release => {
                        let done = sqlx::query(RELEASE_CLAIM)
                            .bind(account_id)
                            .bind(claimed_version)
                            .execute(&mut *tx)
                            .await?;
                        (done.rows_affected(), &[][..], chrono::Utc::now())
                    }
                };
                for e in log {
                    sqlx::query(INSERT_REFRESH_LOG)
                        .bind(e.account_id)
                        .bind(e.run_id)
                        .bind(e.attempted_at)
                        .bind(e.duration_ms)
                        .bind(e.outcome.as_str())
                        .bind(e.http_status)
                        .bind(e.error_code.as_deref())
                        .bind(e.attempt)
                        .execute(&mut *tx)
                        .await?;
                }
                if updated == 0 {
                    tx.commit().await?;
                    return Ok(false);
                }
                Self::insert_notifications(&mut tx, notifications, at).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn expire_dead_accounts(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query("UPDATE social_network SET status = 'expired', updated_at = $1, version = version + 1 WHERE status = 'needs_reconnect' AND token_expires_at <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn prune_refresh_log(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query("DELETE FROM refresh_log WHERE attempted_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn refresh_log_for(
                &self,
                account_id: i64,
            ) -> Result<Vec<$crate::store::RefreshLogEntry>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::rows::RefreshLogRow> = sqlx::query_as(
                    "SELECT * FROM refresh_log WHERE account_id = $1 ORDER BY id",
                )
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn notifications_for(
                &self,
                account_id: i64,
            ) -> Result<Vec<$crate::store::StoredNotification>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::rows::NotificationRow> = sqlx::query_as(
                    "SELECT * FROM notifications WHERE account_id = $1 ORDER BY id",
                )
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::RunStore for $store {
            async fn start_run(
                &self,
                slot: Option<chrono::DateTime<chrono::Utc>>,
                started_at: chrono::DateTime<chrono::Utc>,
                as_of: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<i64>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO sweep_runs (slot, started_at, as_of, outcome) VALUES ($1, $2, $3, 'running') ON CONFLICT (slot) DO NOTHING RETURNING id",
                )
                .bind(slot)
                .bind(started_at)
                .bind(as_of)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn finish_run(
                &self,
                run_id: i64,
                finished_at: chrono::DateTime<chrono::Utc>,
                counts: &$crate::store::SweepCounts,
                outcome: &str,
                error: Option<&str>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE sweep_runs SET finished_at = $1, due = $2, refreshed = $3, failing = $4, needs_reconnect = $5, skipped = $6, outcome = $7, error = $8 WHERE id = $9",
                )
                .bind(finished_at)
                .bind(counts.due)
                .bind(counts.refreshed)
                .bind(counts.failing)
                .bind(counts.needs_reconnect)
                .bind(counts.skipped)
                .bind(outcome)
                .bind(error)
                .bind(run_id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn latest_slot(
                &self,
            ) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT slot FROM sweep_runs WHERE slot IS NOT NULL ORDER BY slot DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn recent_runs(
                &self,
                limit: i64,
            ) -> Result<Vec<$crate::store::SweepRun>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::rows::SweepRunRow> =
                    sqlx::query_as("SELECT * FROM sweep_runs ORDER BY id DESC LIMIT $1")
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::OutboxStore for $store {
            async fn claim_notifications(
                &self,
                lease: &$crate::store::Lease,
                limit: i64,
            ) -> Result<Vec<$crate::store::PendingEmail>, $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let claimed: Vec<(i64, i64, String, String, chrono::DateTime<chrono::Utc>, i32)> =
                    sqlx::query_as($claim_notifications_sql)
                        .bind(lease.now)
                        .bind(lease.until)
                        .bind(lease.holder.as_str())
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                let mut out = Vec::with_capacity(claimed.len());
                for (id, account_id, kind, dedupe_key, deadline, attempts) in claimed {
                    let row: $crate::store::rows::AccountRow =
                        sqlx::query_as("SELECT * FROM social_network WHERE id = $1")
                            .bind(account_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    out.push($crate::store::PendingEmail {
                        id,
                        kind,
                        dedupe_key,
                        deadline,
                        attempts,
                        account: $crate::domain::Account::try_from(row)?,
                    });
                }
                tx.commit().await?;
                out.sort_by_key(|p| p.id);
                Ok(out)
            }

            async fn renew_notification_claim(
                &self,
                id: i64,
                lease: &$crate::store::Lease,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::sql::RENEW_NOTIFICATION_CLAIM)
                    .bind(lease.until)
                    .bind(id)
                    .bind(lease.holder.as_str())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn mark_sent(
                &self,
                id: i64,
                holder: &str,
                message_id: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::sql::MARK_NOTIFICATION_SENT)
                    .bind(message_id)
                    .bind(at)
                    .bind(id)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn mark_retry(
                &self,
                id: i64,
                holder: &str,
                error: &str,
                next_attempt_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::sql::MARK_NOTIFICATION_RETRY)
                    .bind(error)
                    .bind(next_attempt_at)
                    .bind(id)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn mark_failed(
                &self,
                id: i64,
                holder: &str,
                error: &str,
                status: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::sql::MARK_NOTIFICATION_FAILED)
                    .bind(status)
                    .bind(error)
                    .bind(id)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_notifications(
                &self,
                notifications: &[$crate::domain::NewNotification],
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let added = Self::insert_notifications(&mut tx, notifications, at).await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn refresh_tokens_ending(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
                after_id: i64,
                limit: i64,
            ) -> Result<Vec<$crate::domain::Account>, $crate::store::StoreError> {
                let rows = sqlx::query_as(
                    "SELECT * FROM social_network WHERE status IN ('active', 'refresh_failing') AND refresh_token IS NOT NULL AND refresh_token_expires_at > $1 AND refresh_token_expires_at <= $2 AND id > $3 ORDER BY id LIMIT $4",
                )
                .bind(now)
                .bind(until)
                .bind(after_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                $crate::store::rows::accounts(rows)
            }

            async fn notification_counts(
                &self,
            ) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT status, COUNT(*) FROM notifications GROUP BY status ORDER BY status",
                )
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(super) use impl_store;
