//! Statements run past the store, for tests that must damage or inspect a database on purpose.

use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;
use tokenkeeper::store::Dialect;

/// Runs `sql` (no parameters) on the database at `url`; returns the rows it changed.
pub async fn execute(url: &str, sql: &str) -> Result<u64, sqlx::Error> {
    match Dialect::of_url(url).expect("a test database URL") {
        Dialect::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await?;
            Ok(sqlx::raw_sql(sql).execute(&pool).await?.rows_affected())
        }
        Dialect::Postgres => {
            let pool = sqlx::PgPool::connect(url).await?;
            Ok(sqlx::raw_sql(sql).execute(&pool).await?.rows_affected())
        }
        Dialect::MySql => {
            let pool = sqlx::MySqlPool::connect(url).await?;
            Ok(sqlx::raw_sql(sql).execute(&pool).await?.rows_affected())
        }
    }
}

/// Every row's `token` and `refresh_token` as the database holds them, by id.
pub async fn token_columns(url: &str) -> Vec<(String, Option<String>)> {
    rows(
        url,
        "SELECT token, refresh_token FROM social_network ORDER BY id",
    )
    .await
}

/// The rows `sql` (no parameters) reads from the database at `url`, as they are stored.
pub async fn rows<T>(url: &str, sql: &str) -> Vec<T>
where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, MySqlRow>,
    T: Send + Unpin,
{
    match Dialect::of_url(url).expect("a test database URL") {
        Dialect::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
        Dialect::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
        Dialect::MySql => {
            let pool = sqlx::MySqlPool::connect(url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
    }
}

/// `pg_dump` of the PostgreSQL database at `url`, data included; empty when the tool is not
/// installed here (callers then read the columns themselves).
pub async fn pg_dump(url: &str) -> String {
    let mut command = tokio::process::Command::new("pg_dump");
    command.args(["--data-only", "--dbname", url]);
    match command.output().await {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Ok(output) => panic!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => String::new(),
    }
}
