//! The connect flow's state: open sign-in attempts, used links, and the write that links an
//! account through a link.

use super::{on_each, SqlStore, Statement};
use crate::domain::{LinkedAccount, PkceVerifier, UserId};
use crate::store::connect::ConnectAttemptRow;
use crate::store::{
    AttemptLookup, ConnectAttempt, ConnectOutcome, ConnectStore, LinkUse, Purged, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

static INSERT_ATTEMPT: Statement = Statement::new(
    "
INSERT INTO connect_attempts (state_hash, browser_hash, link_hash, link_expires_at,
    allow_member_change, network, pkce_verifier, user_id, email, return_to, created_at,
    expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
);

/// SQLite and PostgreSQL take the attempt in one statement.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
static TAKE_ATTEMPT: Statement = Statement::new(
    "DELETE FROM connect_attempts WHERE state_hash = ? AND browser_hash = ? RETURNING *",
);

/// MySQL has no DELETE ... RETURNING: the row is read under a lock, then deleted.
#[cfg(feature = "mysql")]
const FIND_ATTEMPT_MYSQL: &str =
    "SELECT * FROM connect_attempts WHERE state_hash = ? AND browser_hash = ? FOR UPDATE";
#[cfg(feature = "mysql")]
const DELETE_ATTEMPT_MYSQL: &str = "DELETE FROM connect_attempts WHERE state_hash = ?";

/// A member who opens a connect link has opened it after every email already sent in the
/// episode: the success report's "link opened". Written with the attempt, in its transaction.
/// Parameters: now, the attempt's user and provider.
static MARK_EMAILS_OPENED: Statement = Statement::new(
    "
UPDATE notifications SET link_opened_at = ?
WHERE account_id IN (SELECT id FROM social_network WHERE user_id = ? AND network = ?)
  AND status = 'sent' AND link_opened_at IS NULL AND reconnected_at IS NULL",
);

static OPEN_ATTEMPT_USER: Statement =
    Statement::new("SELECT user_id FROM connect_attempts WHERE state_hash = ? AND expires_at > ?");

static LINK_USED: Statement =
    Statement::new("SELECT COUNT(*) FROM used_connect_links WHERE link_hash = ?");

/// The first statement of the completing transaction, so that of two racing completions the
/// second waits on the first's row and then finds it.
static MARK_LINK_USED: Statement = Statement::new(
    "
INSERT INTO used_connect_links (link_hash, user_id, used_at, expires_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (link_hash) DO NOTHING",
);

/// MySQL: a racing completion waits on the first one's key, then is ignored.
const MARK_LINK_USED_MYSQL: &str = "
INSERT IGNORE INTO used_connect_links (link_hash, user_id, used_at, expires_at)
VALUES (?, ?, ?, ?)";

const PURGE_BATCH: i64 = 1000;

/// A table the purge rids of expired rows, as each dialect deletes them.
struct Purgeable {
    /// Parameters: now, batch size. One statement suffices on SQLite (a single writer: no
    /// lock order between rows) and PostgreSQL (it locks only the rows it deletes).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    delete: &'static Statement,
    /// MySQL: the expired keys, read without locks (parameters: now, batch size).
    #[cfg(feature = "mysql")]
    expired_keys_mysql: &'static str,
    /// MySQL: deletes by key alone, the keys appended. No row's expiry changes once written
    /// (an attempt is never updated, a used link is inserted once), so a key read as expired
    /// stays expired; checking the expiry again would let InnoDB range over its index anew.
    #[cfg(feature = "mysql")]
    delete_keys_mysql: &'static str,
}

/// A DELETE that ranges over the expiry index makes InnoDB lock the index entries it scans,
/// one past the last expired row: an attempt being taken (its row locked first, its index
/// entry next) then deadlocks with the purge (index entry first, row next), and the member's
/// sign-in fails. Deleting by key takes the row first, as the sign-in does.
static ATTEMPTS: Purgeable = Purgeable {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    delete: &PURGE_ATTEMPTS,
    #[cfg(feature = "mysql")]
    expired_keys_mysql:
        "SELECT state_hash FROM connect_attempts WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
    #[cfg(feature = "mysql")]
    delete_keys_mysql: "DELETE FROM connect_attempts WHERE state_hash IN (",
};

static USED_LINKS: Purgeable = Purgeable {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    delete: &PURGE_USED_LINKS,
    #[cfg(feature = "mysql")]
    expired_keys_mysql:
        "SELECT link_hash FROM used_connect_links WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
    #[cfg(feature = "mysql")]
    delete_keys_mysql: "DELETE FROM used_connect_links WHERE link_hash IN (",
};

/// SQLite and PostgreSQL: one statement. (MySQL would not take it either way: it allows no
/// LIMIT in an IN subquery.)
#[cfg(any(feature = "sqlite", feature = "postgres"))]
static PURGE_ATTEMPTS: Statement = Statement::new(
    "DELETE FROM connect_attempts WHERE state_hash IN (
        SELECT state_hash FROM connect_attempts WHERE expires_at < ? LIMIT ?)",
);

#[cfg(any(feature = "sqlite", feature = "postgres"))]
static PURGE_USED_LINKS: Statement = Statement::new(
    "DELETE FROM used_connect_links WHERE link_hash IN (
        SELECT link_hash FROM used_connect_links WHERE expires_at < ? LIMIT ?)",
);

fn corrupt(reason: String) -> StoreError {
    StoreError::Corrupt {
        table: "connect_attempts",
        id: 0,
        reason,
    }
}

#[async_trait]
impl ConnectStore for SqlStore {
    async fn save_connect_attempt(&self, attempt: &ConnectAttempt) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_each!(Tx, &mut tx, |tx, dialect| {
            sqlx::query(INSERT_ATTEMPT.sql(dialect))
                .bind(attempt.state_hash.as_str())
                .bind(attempt.browser_hash.as_str())
                .bind(attempt.link.link_hash.as_str())
                .bind(attempt.link.expires_at)
                .bind(attempt.link.allow_member_change)
                .bind(attempt.provider.as_str())
                .bind(attempt.pkce_verifier.as_ref().map(PkceVerifier::expose))
                .bind(attempt.user_id.as_str())
                .bind(attempt.email.as_str())
                .bind(attempt.return_to.as_deref())
                .bind(attempt.created_at)
                .bind(attempt.expires_at)
                .execute(&mut **tx)
                .await?;
            sqlx::query(MARK_EMAILS_OPENED.sql(dialect))
                .bind(attempt.created_at)
                .bind(attempt.user_id.as_str())
                .bind(attempt.provider.as_str())
                .execute(&mut **tx)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    async fn take_connect_attempt(
        &self,
        state_hash: &str,
        browser_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AttemptLookup, StoreError> {
        if let Some(browser_hash) = browser_hash {
            let row: Option<ConnectAttemptRow> = on_each!(Pool, &self.pool, [Sqlite, Postgres] |pool, dialect| {
                sqlx::query_as(TAKE_ATTEMPT.sql(dialect))
                    .bind(state_hash)
                    .bind(browser_hash)
                    .fetch_optional(pool)
                    .await?
            }, #[cfg(feature = "mysql")] super::Pool::MySql(pool) => {
                let mut tx = pool.begin().await?;
                let row: Option<ConnectAttemptRow> = sqlx::query_as(FIND_ATTEMPT_MYSQL)
                    .bind(state_hash)
                    .bind(browser_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                if row.is_some() {
                    sqlx::query(DELETE_ATTEMPT_MYSQL)
                        .bind(state_hash)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                row
            });
            if let Some(row) = row {
                let attempt = ConnectAttempt::try_from(row)?;
                // An expired attempt is removed all the same: it can never complete.
                return Ok(if attempt.expires_at > now {
                    AttemptLookup::Taken(attempt)
                } else {
                    AttemptLookup::Unknown
                });
            }
        }
        let open: Option<crate::store::exact_text::ExactText> =
            on_each!(Pool, &self.pool, |pool, dialect| {
                sqlx::query_scalar(OPEN_ATTEMPT_USER.sql(dialect))
                    .bind(state_hash)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            });
        match open {
            Some(user_id) => Ok(AttemptLookup::OtherBrowser(
                UserId::parse(&user_id.0).map_err(|e| corrupt(e.0))?,
            )),
            None => Ok(AttemptLookup::Unknown),
        }
    }

    async fn count_connect_attempts(&self) -> Result<i64, StoreError> {
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_scalar("SELECT COUNT(*) FROM connect_attempts")
                .fetch_one(pool)
                .await?
        }))
    }

    async fn connect_link_used(&self, link_hash: &str) -> Result<bool, StoreError> {
        let used: i64 = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_scalar(LINK_USED.sql(dialect))
                .bind(link_hash)
                .fetch_one(pool)
                .await?
        });
        Ok(used > 0)
    }

    async fn complete_connect(
        &self,
        account: &LinkedAccount,
        link: &LinkUse,
        now: DateTime<Utc>,
    ) -> Result<ConnectOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let marked = on_each!(Tx, &mut tx, |tx, dialect| {
            let sql = match dialect {
                super::Dialect::MySql => MARK_LINK_USED_MYSQL,
                _ => MARK_LINK_USED.sql(dialect),
            };
            sqlx::query(sql)
                .bind(link.link_hash.as_str())
                .bind(account.user_id().as_str())
                .bind(now)
                .bind(link.expires_at)
                .execute(&mut **tx)
                .await?
                .rows_affected()
        });
        if marked == 0 {
            tx.rollback().await?;
            return Ok(ConnectOutcome::LinkAlreadyUsed);
        }
        let Some(stored) = self
            .upsert_linked_account(&mut tx, account, link.allow_member_change)
            .await?
        else {
            // Rolled back with the used-mark: the member may sign in to LinkedIn as the
            // connected account and use the same link again.
            tx.rollback().await?;
            return Ok(ConnectOutcome::MemberChanged);
        };
        tx.commit().await?;
        Ok(ConnectOutcome::Linked(Box::new(stored)))
    }

    async fn purge_expired_connect_state(&self, now: DateTime<Utc>) -> Result<Purged, StoreError> {
        let mut purged = Purged::default();
        for (table, count) in [
            (&ATTEMPTS, &mut purged.attempts),
            (&USED_LINKS, &mut purged.used_links),
        ] {
            loop {
                let (deleted, more) = on_each!(Pool, &self.pool, [Sqlite, Postgres] |pool, dialect| {
                    let deleted = sqlx::query(table.delete.sql(dialect))
                        .bind(now)
                        .bind(PURGE_BATCH)
                        .execute(pool)
                        .await?
                        .rows_affected();
                    (deleted, deleted == PURGE_BATCH as u64)
                }, #[cfg(feature = "mysql")] super::Pool::MySql(pool) => {
                    let keys: Vec<String> = sqlx::query_scalar(table.expired_keys_mysql)
                        .bind(now)
                        .bind(PURGE_BATCH)
                        .fetch_all(pool)
                        .await?;
                    let deleted = if keys.is_empty() {
                        0
                    } else {
                        let mut delete = sqlx::QueryBuilder::new(table.delete_keys_mysql);
                        let mut listed = delete.separated(", ");
                        for key in &keys {
                            listed.push_bind(key);
                        }
                        delete.push(")");
                        delete.build().execute(pool).await?.rows_affected()
                    };
                    (deleted, keys.len() == PURGE_BATCH as usize)
                });
                *count += deleted;
                if !more {
                    break;
                }
            }
        }
        Ok(purged)
    }
}
