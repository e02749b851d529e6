//! Which migrations a database still lacks, read without changing it (the doctor asks before
//! `migrate` would apply them).

use super::StoreError;
use sqlx::migrate::Migrator;

/// The versions sqlx recorded as applied, in every dialect.
pub(super) const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";

/// The migrations of `migrator` missing from `applied`, the answer to [`APPLIED`]. A database
/// never migrated has no bookkeeping table: all of them are missing then.
pub(super) fn unapplied(
    migrator: &Migrator,
    applied: Result<Vec<i64>, sqlx::Error>,
) -> Result<Vec<i64>, StoreError> {
    let applied = match applied {
        Ok(applied) => applied,
        Err(sqlx::Error::Database(e)) if is_missing_table(e.as_ref()) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|version| !applied.contains(version))
        .collect())
}

/// PostgreSQL's and MySQL's SQLSTATE for an unknown table; SQLite has only its message.
fn is_missing_table(error: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(error.code().as_deref(), Some("42P01" | "42S02"))
        || error.message().contains("no such table")
}
