//! Fast bulk seeding (not what is measured): multi-row inserts in large transactions.

use crate::mix::Mix;
use chrono::{DateTime, Duration, Utc};
use sqlx::{MySqlPool, PgPool, QueryBuilder, SqlitePool};
use std::collections::BTreeMap;
use tokenkeeper::crypto::TokenCipher;
use tokenkeeper::domain::{AccessToken, ProviderName, RefreshToken, UserId};

const COLUMNS: &str =
    "INSERT INTO social_network (user_id, network, member_id, email, name, token, \
    token_expires_at, refresh_token, refresh_token_expires_at, scope, expiration, status, \
    linked_at, created_at, updated_at) ";

struct Row {
    i: usize,
    network: &'static str,
    expiration: DateTime<Utc>,
    linked_at: DateTime<Utc>,
    token_expires_at: DateTime<Utc>,
    /// Sealed as the service seals them, so every read in the sweep opens a real ciphertext.
    token: String,
    refresh_token: Option<String>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    scope: &'static str,
}

/// `due` of the `total` accounts have `expiration <= as_of` (spread over the 30 days before);
/// the rest fall due over the 60 days after. Account `i` is of `mix.share_of(i)`'s provider,
/// and holds what that network renews with: a refresh token (LinkedIn, X, Google, TikTok) or
/// an access token that still lives (Instagram, Threads, Facebook), linked 50 days before it
/// falls due (so a day old at least, as Instagram's and Threads' renewal wants).
fn row(
    i: usize,
    total: usize,
    due: usize,
    as_of: DateTime<Utc>,
    cipher: &TokenCipher,
    mix: &Mix,
) -> Row {
    let expiration = if i < due {
        as_of - Duration::seconds((i as i64 * 2_592_000) / due.max(1) as i64)
    } else {
        let rest = (total - due).max(1) as i64;
        as_of + Duration::seconds(1 + ((i - due) as i64 * 5_184_000) / rest)
    };
    let linked_at = expiration - Duration::days(50);
    let share = mix.share_of(i);
    let network = ProviderName::parse(share.name).expect("a valid provider name");
    let user_id = UserId::parse(&format!("bench-{i}")).expect("a valid user id");
    let at = tokenkeeper::crypto::Row::new(&network, &user_id);
    let refresh = share.seed.refresh_token_life.map(|life| {
        (
            cipher.seal(at, &RefreshToken::new(format!("bench-refresh-{i}"))),
            life.map(|life| linked_at + life),
        )
    });
    Row {
        i,
        network: share.name,
        expiration,
        linked_at,
        token_expires_at: expiration + share.seed.access_token_end_after_due,
        token: cipher.seal(at, &AccessToken::new(format!("bench-access-{i}"))),
        refresh_token_expires_at: refresh.as_ref().and_then(|(_, end)| *end),
        refresh_token: refresh.map(|(token, _)| token),
        scope: share.seed.scope,
    }
}

fn push_rows<'a, DB: sqlx::Database>(
    builder: &mut QueryBuilder<'a, DB>,
    rows: impl Iterator<Item = Row>,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<DateTime<Utc>>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    builder.push_values(rows, |mut b, r| {
        b.push_bind(format!("bench-{}", r.i))
            .push_bind(r.network)
            .push_bind(format!("member-{}", r.i))
            .push_bind(format!("bench-{}@example.com", r.i))
            .push_bind(format!("Bench {}", r.i))
            .push_bind(r.token)
            .push_bind(r.token_expires_at)
            .push_bind(r.refresh_token)
            .push_bind(r.refresh_token_expires_at)
            .push_bind(r.scope)
            .push_bind(r.expiration)
            .push_bind("active")
            .push_bind(r.linked_at)
            .push_bind(r.linked_at)
            .push_bind(r.linked_at);
    });
}

/// LinkedIn accounts only.
pub async fn accounts(
    database_url: &str,
    total: usize,
    due: usize,
    as_of: DateTime<Utc>,
    cipher: &TokenCipher,
) -> anyhow::Result<()> {
    accounts_of(
        database_url,
        total,
        due,
        as_of,
        cipher,
        &Mix::linkedin_only(),
    )
    .await
}

/// Accounts of the providers of `mix`, in its shares.
pub async fn accounts_of(
    database_url: &str,
    total: usize,
    due: usize,
    as_of: DateTime<Utc>,
    cipher: &TokenCipher,
    mix: &Mix,
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
                (start..(start + CHUNK).min(total)).map(|i| row(i, total, due, as_of, cipher, mix)),
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
                (start..(start + CHUNK).min(total)).map(|i| row(i, total, due, as_of, cipher, mix)),
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
                (start..(start + CHUNK).min(total)).map(|i| row(i, total, due, as_of, cipher, mix)),
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

/// After a sweep at `as_of`: (due accounts never refreshed, accounts refreshed). Seeded rows
/// have no `last_refreshed_at`; a refresh's write-back sets it with the new tokens (which are
/// sealed, so the token column itself tells nothing).
pub async fn sweep_outcome(database_url: &str, as_of: DateTime<Utc>) -> anyhow::Result<(i64, i64)> {
    let left =
        "SELECT COUNT(*) FROM social_network WHERE last_refreshed_at IS NULL AND expiration <= $1";
    let replaced = "SELECT COUNT(*) FROM social_network WHERE last_refreshed_at IS NOT NULL";
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

/// Accounts per provider (`network`) that meet `condition`, a SQL condition on
/// `social_network` that compares with `$1` exactly when `as_of` is given.
pub async fn counts_by_provider(
    database_url: &str,
    condition: &str,
    as_of: Option<DateTime<Utc>>,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let sql =
        format!("SELECT network, COUNT(*) FROM social_network WHERE {condition} GROUP BY network");
    let rows: Vec<(String, i64)> = if is_mysql(database_url) {
        let pool = MySqlPool::connect(database_url).await?;
        let sql = sql.replace("$1", "?");
        let query = sqlx::query_as(&sql);
        match as_of {
            Some(t) => query.bind(t),
            None => query,
        }
        .fetch_all(&pool)
        .await?
    } else if database_url.starts_with("sqlite:") {
        let pool = SqlitePool::connect(database_url).await?;
        let query = sqlx::query_as(&sql);
        match as_of {
            Some(t) => query.bind(t),
            None => query,
        }
        .fetch_all(&pool)
        .await?
    } else {
        let pool = PgPool::connect(database_url).await?;
        let query = sqlx::query_as(&sql);
        match as_of {
            Some(t) => query.bind(t),
            None => query,
        }
        .fetch_all(&pool)
        .await?
    };
    Ok(rows.into_iter().collect())
}
