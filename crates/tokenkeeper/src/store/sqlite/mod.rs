//! SQLite, the embedded default: one file, created on first use, readable by its owner only.

mod file_mode;

use super::connect::impl_connect_store;
use super::sql::impl_store;
use super::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

/// Claims in one statement: SQLite runs one writer at a time, so two sweeps can never take
/// the same row.
const CLAIM_DUE: &str = "
UPDATE social_network SET claimed_until = $2, claimed_by = $3, version = version + 1
WHERE id IN (
    SELECT id FROM social_network
    WHERE status IN ('active', 'refresh_failing') AND expiration <= $1
      AND (claimed_until IS NULL OR claimed_until < $4)
    ORDER BY expiration, id
    LIMIT $5)
RETURNING *";

/// Notifications due for delivery, claimed in one statement like accounts, each claim under
/// its owner's token.
const CLAIM_NOTIFICATIONS: &str = "
UPDATE notifications SET claimed_until = $2, claimed_by = $3
WHERE id IN (
    SELECT id FROM notifications
    WHERE status = 'pending' AND send_after <= $1 AND next_attempt_at <= $1
      AND (claimed_until IS NULL OR claimed_until < $1)
    ORDER BY id
    LIMIT $4)
RETURNING id, account_id, kind, dedupe_key, deadline, attempts";

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }
}

/// In-memory databases have no file to protect (sqlx names them `file:sqlx-in-memory-N`).
fn is_in_memory(url: &str, options: &SqliteConnectOptions) -> bool {
    let name = options.get_filename().to_string_lossy();
    name == ":memory:" || name.starts_with("file:sqlx-in-memory-") || url.contains("mode=memory")
}

impl SqliteStore {
    /// The claim statement itself, so the benchmark can check from outside that claiming
    /// reads the due rows and not the whole table.
    pub const CLAIM_DUE_SQL: &'static str = CLAIM_DUE;
}

impl_store!(SqliteStore, sqlx::Sqlite, CLAIM_DUE, CLAIM_NOTIFICATIONS);
impl_connect_store!(SqliteStore);
super::host_api_sql::impl_host_api_store!(
    SqliteStore,
    sqlx::Sqlite,
    super::host_api_sql::FORECAST_SQLITE
);

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    #[tokio::test]
    async fn an_in_memory_database_leaves_no_file_behind() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
        ] {
            let store = SqliteStore::connect(url).await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)")
                .execute(store.pool())
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
