//! Statements run past the store, for tests that must damage or inspect a database on purpose.

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
