//! MySQL 8 and MariaDB 10.6+, for sites that run one of them rather than PostgreSQL.

use super::InnodbRoom;
use crate::store::StoreError;
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
