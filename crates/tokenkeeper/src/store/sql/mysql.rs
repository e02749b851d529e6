//! MySQL 8 and MariaDB 10.6+, for sites that run one of them rather than PostgreSQL.

use crate::store::rows::AccountRow;
use crate::store::{Lease, StoreError};
use chrono::{DateTime, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::MySqlPool;
use std::str::FromStr;

pub(super) async fn open(url: &str) -> Result<MySqlPool, StoreError> {
    // DATETIME(6) columns hold no zone: every session reads and writes them in UTC, whatever
    // the URL or the server's default says.
    let options = MySqlConnectOptions::from_str(url)?
        .timezone(Some("+00:00".to_owned()))
        .charset("utf8mb4");
    let pool = MySqlPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&pool)
        .await?;
    check_version(&version).map_err(StoreError::UnsupportedServer)?;
    Ok(pool)
}

/// What InnoDB keeps in memory against what the accounts need, in bytes. MariaDB opens its
/// files with `O_DIRECT` by default, so the operating system's cache does not hold what the
/// buffer pool cannot: a token read of a row outside it waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnodbRoom {
    pub buffer_pool: u64,
    /// `social_network`'s rows and indexes, as the server estimates them (0 before the
    /// migrations).
    pub accounts_table: u64,
}

pub(super) async fn innodb_room(pool: &MySqlPool) -> Result<InnodbRoom, sqlx::Error> {
    let buffer_pool: u64 = sqlx::query_scalar("SELECT CAST(@@innodb_buffer_pool_size AS UNSIGNED)")
        .fetch_one(pool)
        .await?;
    let accounts_table: Option<u64> = sqlx::query_scalar(
        "SELECT CAST(data_length + index_length AS UNSIGNED) FROM information_schema.tables
         WHERE table_schema = DATABASE() AND table_name = 'social_network'",
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(InnodbRoom {
        buffer_pool,
        accounts_table: accounts_table.unwrap_or(0),
    })
}

/// Claims need `FOR UPDATE SKIP LOCKED` and the schema needs CHECK constraints: MariaDB 10.6
/// and MySQL 8 are the first with both.
fn check_version(version: &str) -> Result<(), String> {
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let major = numbers.next().unwrap_or(0);
    let minor = numbers.next().unwrap_or(0);
    let (needed, product) = if mariadb {
        ((10, 6), "MariaDB")
    } else {
        ((8, 0), "MySQL")
    };
    if (major, minor) >= needed {
        Ok(())
    } else {
        let shown: String = version.chars().take(40).collect();
        Err(format!(
            "{product} {shown} is too old: tokenkeeper needs MariaDB 10.6 or newer, or MySQL 8"
        ))
    }
}

/// Ids written into a statement, for `IN (...)`: integers the same store just read, so
/// nothing from outside can reach the text.
pub(super) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The oldest due accounts, read without locking. Parameters: due_at, now, how many.
pub(super) const DUE_CANDIDATES: &str = "
SELECT id FROM social_network
WHERE status IN ('active', 'refresh_failing') AND expiration <= ?
  AND (claimed_until IS NULL OR claimed_until < ?)
ORDER BY expiration, id
LIMIT ?";

/// How many more candidates than a batch a claim reads, so that claims racing for the same
/// oldest rows each find some left.
const CANDIDATES_PER_CLAIMED: i64 = 4;

/// Claims up to `limit` due accounts. MySQL has no UPDATE ... RETURNING and no LIMIT in an IN
/// subquery, and a locking read that sorts locks every row it examines, which would hand one
/// claimer the whole table and leave its rivals nothing to skip to. So the oldest due rows are
/// read without a lock, then locked by primary key (`SKIP LOCKED`, the due filter checked
/// again on the latest committed rows, so a row claimed meanwhile is not taken), claimed and
/// read back, in one transaction. Within the candidates, lower ids go first.
pub(super) async fn claim_due(
    pool: &MySqlPool,
    due_at: DateTime<Utc>,
    lease: &Lease,
    limit: i64,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    let mut wanted = limit.saturating_mul(CANDIDATES_PER_CLAIMED);
    for _ in 0..3 {
        let candidates: Vec<i64> = sqlx::query_scalar(DUE_CANDIDATES)
            .bind(due_at)
            .bind(lease.now)
            .bind(wanted)
            .fetch_all(pool)
            .await?;
        if candidates.is_empty() {
            break;
        }
        let list = id_list(&candidates);
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
        let list = id_list(&ids);
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

#[cfg(test)]
mod tests {
    use super::check_version;

    #[test]
    fn only_mariadb_10_6_and_mysql_8_are_accepted() {
        for ok in [
            "10.6.0-MariaDB",
            "10.11.19-MariaDB-0+deb12u1",
            "11.4.2-MariaDB",
            "8.0.36",
            "8.4.0-log",
            "9.1.0",
        ] {
            assert_eq!(check_version(ok), Ok(()), "{ok}");
        }
        for old in ["10.5.23-MariaDB", "5.7.44", "5.5.5-10.3.39-MariaDB"] {
            let refused = check_version(old).unwrap_err();
            assert!(refused.contains("too old"), "{refused}");
        }
    }
}
