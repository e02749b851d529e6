//! Fast bulk seeding (not what is measured): multi-row inserts in large transactions.

use chrono::{DateTime, Duration, Utc};
use sqlx::{MySqlPool, PgPool, QueryBuilder, SqlitePool};

const COLUMNS: &str =
    "INSERT INTO social_network (user_id, network, member_id, email, name, token, \
    token_expires_at, refresh_token, refresh_token_expires_at, scope, expiration, status, \
    linked_at, created_at, updated_at) ";

struct Row {
    i: usize,
    expiration: DateTime<Utc>,
    linked_at: DateTime<Utc>,
}

/// `due` of the `total` accounts have `expiration <= as_of` (spread over the 30 days before);
/// the rest fall due over the 60 days after.
fn row(i: usize, total: usize, due: usize, as_of: DateTime<Utc>) -> Row {
    let expiration = if i < due {
        as_of - Duration::seconds((i as i64 * 2_592_000) / due.max(1) as i64)
    } else {
        let rest = (total - due).max(1) as i64;
        as_of + Duration::seconds(1 + ((i - due) as i64 * 5_184_000) / rest)
    };
    Row {
        i,
        expiration,
        linked_at: expiration - Duration::days(50),
    }
}

fn push_rows<'a, DB: sqlx::Database>(
    builder: &mut QueryBuilder<'a, DB>,
    rows: impl Iterator<Item = Row>,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    builder.push_values(rows, |mut b, r| {
        b.push_bind(format!("bench-{}", r.i))
            .push_bind("linkedin")
            .push_bind(format!("member-{}", r.i))
            .push_bind(format!("bench-{}@example.com", r.i))
            .push_bind(format!("Bench {}", r.i))
            .push_bind(format!("bench-access-{}", r.i))
            .push_bind(r.expiration + Duration::days(10))
            .push_bind(format!("bench-refresh-{}", r.i))
            .push_bind(r.linked_at + Duration::days(365))
            .push_bind("openid profile email w_member_social")
            .push_bind(r.expiration)
            .push_bind("active")
            .push_bind(r.linked_at)
            .push_bind(r.linked_at)
            .push_bind(r.linked_at);
    });
}

pub async fn accounts(
    database_url: &str,
    total: usize,
    due: usize,
    as_of: DateTime<Utc>,
) -> anyhow::Result<()> {
    // 15 parameters a row; SQLite allows 32766 per statement, PostgreSQL 65535.
    const CHUNK: usize = 2000;
    if database_url.starts_with("sqlite:") {
        let pool = SqlitePool::connect(database_url).await?;
        let mut tx = pool.begin().await?;
        for start in (0..total).step_by(CHUNK) {
            let mut builder = QueryBuilder::new(COLUMNS);
            push_rows(
                &mut builder,
                (start..(start + CHUNK).min(total)).map(|i| row(i, total, due, as_of)),
            );
            builder.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        sqlx::query("ANALYZE").execute(&pool).await?;
        // Fold the seeding's write-ahead log into the database now, so the first measured
        // write does not pay for checkpointing a million inserted rows.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await?;
    } else if is_mysql(database_url) {
        let pool = MySqlPool::connect(database_url).await?;
        let mut tx = pool.begin().await?;
        for start in (0..total).step_by(CHUNK) {
            let mut builder = QueryBuilder::new(COLUMNS);
            push_rows(
                &mut builder,
                (start..(start + CHUNK).min(total)).map(|i| row(i, total, due, as_of)),
            );
            builder.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        sqlx::query("ANALYZE TABLE social_network")
            .execute(&pool)
            .await?;
    } else {
        let pool = PgPool::connect(database_url).await?;
        let mut tx = pool.begin().await?;
        for start in (0..total).step_by(CHUNK) {
            let mut builder = QueryBuilder::new(COLUMNS);
            push_rows(
                &mut builder,
                (start..(start + CHUNK).min(total)).map(|i| row(i, total, due, as_of)),
            );
            builder.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // Vacuum now: otherwise autovacuum wakes up on the fresh million rows in the middle
        // of the measured sweep and takes a core of this two-core machine.
        sqlx::query("VACUUM ANALYZE social_network")
            .execute(&pool)
            .await?;
    }
    Ok(())
}

/// Drops every claim, so a measured claim can be repeated on the same data.
pub async fn release_claims(database_url: &str) -> anyhow::Result<()> {
    let sql = "UPDATE social_network SET claimed_until = NULL, claimed_by = NULL WHERE claimed_until IS NOT NULL";
    if database_url.starts_with("sqlite:") {
        sqlx::query(sql)
            .execute(&SqlitePool::connect(database_url).await?)
            .await?;
    } else if is_mysql(database_url) {
        sqlx::query(sql)
            .execute(&MySqlPool::connect(database_url).await?)
            .await?;
    } else {
        sqlx::query(sql)
            .execute(&PgPool::connect(database_url).await?)
            .await?;
    }
    Ok(())
}

/// After a sweep at `as_of`: (due accounts still holding their seeded token, accounts whose
/// token was replaced). Seeded tokens are `bench-access-<i>`; a refresh replaces them.
pub async fn sweep_outcome(database_url: &str, as_of: DateTime<Utc>) -> anyhow::Result<(i64, i64)> {
    let left = "SELECT COUNT(*) FROM social_network WHERE token LIKE 'bench-access-%' AND expiration <= $1";
    let replaced = "SELECT COUNT(*) FROM social_network WHERE token NOT LIKE 'bench-access-%'";
    if is_mysql(database_url) {
        let pool = MySqlPool::connect(database_url).await?;
        return Ok((
            sqlx::query_scalar(&left.replace("$1", "?"))
                .bind(as_of)
                .fetch_one(&pool)
                .await?,
            sqlx::query_scalar(replaced).fetch_one(&pool).await?,
        ));
    }
    if database_url.starts_with("sqlite:") {
        let pool = SqlitePool::connect(database_url).await?;
        Ok((
            sqlx::query_scalar(left)
                .bind(as_of)
                .fetch_one(&pool)
                .await?,
            sqlx::query_scalar(replaced).fetch_one(&pool).await?,
        ))
    } else {
        let pool = PgPool::connect(database_url).await?;
        Ok((
            sqlx::query_scalar(left)
                .bind(as_of)
                .fetch_one(&pool)
                .await?,
            sqlx::query_scalar(replaced).fetch_one(&pool).await?,
        ))
    }
}

pub fn is_mysql(database_url: &str) -> bool {
    database_url.starts_with("mysql:") || database_url.starts_with("mariadb:")
}
