//! SQLite, the embedded default: one file, created on first use, readable by its owner only.

mod file_mode;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

pub(super) async fn open(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?;
    if !is_in_memory(url, &options) {
        let path = options.get_filename();
        file_mode::restrict_to_owner(path).map_err(|e| {
            let named = std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
            sqlx::Error::Io(named)
        })?;
    }
    let options = options
        .create_if_missing(true)
        // Readers do not block the writer, and a busy writer is waited for, not failed.
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
}

/// In-memory databases have no file to protect (sqlx names them `file:sqlx-in-memory-N`).
fn is_in_memory(url: &str, options: &SqliteConnectOptions) -> bool {
    let name = options.get_filename().to_string_lossy();
    name == ":memory:" || name.starts_with("file:sqlx-in-memory-") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::open;

    #[tokio::test]
    async fn an_in_memory_database_leaves_no_file_behind() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
        ] {
            let pool = open(url).await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)")
                .execute(&pool)
                .await
                .unwrap();
        }
        let strays: Vec<_> = std::fs::read_dir(".")
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("memory"))
            .collect();
        assert!(strays.is_empty(), "{strays:?}");
    }
}
