//! Connections kept between the gathered token reads' statements. sqlx's pool pings a
//! connection when it is taken and again when it goes back, so a statement run on the pool
//! costs three round trips to the database; the token readers (`token_reads.rs`), which run
//! one statement after another under load, keep their connections between statements and
//! pay one. A connection whose statement fails is not kept: the next statement takes a
//! fresh one from the pool, pinged, and the failed statement's reads ask again on their own,
//! so a database restart costs one gathered statement, not a failed read.

use super::Pool;
use sqlx::pool::PoolConnection;
use std::sync::{Arc, Mutex};

/// At most this many connections are kept; one more statement at a time than that takes a
/// connection from the pool and gives it back. Above `token_reads::READERS`, the readers'
/// count, so that every reader keeps one.
const KEEP: usize = 4;

/// A connection taken out of the pool, still counted in its size.
pub(super) enum Held {
    #[cfg(feature = "sqlite")]
    Sqlite(PoolConnection<sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(PoolConnection<sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(PoolConnection<sqlx::MySql>),
}

/// The kept connections, shared by the clones of one store.
#[derive(Clone, Default)]
pub(super) struct Kept(Arc<Mutex<Vec<Held>>>);

impl Kept {
    /// A kept connection, or a new one from the pool.
    pub(super) async fn take(&self, pool: &Pool) -> Result<Held, sqlx::Error> {
        if let Some(held) = self.0.lock().expect("kept connections").pop() {
            return Ok(held);
        }
        Ok(match pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Held::Sqlite(pool.acquire().await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Held::Postgres(pool.acquire().await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Held::MySql(pool.acquire().await?),
        })
    }

    /// Keeps a connection whose statement succeeded, or gives it back to the pool when
    /// enough are kept.
    pub(super) fn keep(&self, held: Held) {
        let mut kept = self.0.lock().expect("kept connections");
        if kept.len() < KEEP {
            kept.push(held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    /// Each connection to `sqlite::memory:` is a database of its own, so a table tells which
    /// connection a statement ran on.
    async fn memory_pool() -> Pool {
        Pool::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect("sqlite::memory:")
                .await
                .unwrap(),
        )
    }

    async fn run(held: &mut Held, sql: &str) -> Result<(), sqlx::Error> {
        let Held::Sqlite(conn) = held else {
            unreachable!("a SQLite pool")
        };
        sqlx::query(sql).execute(&mut **conn).await.map(drop)
    }

    #[tokio::test]
    async fn the_connection_kept_is_the_next_one_taken() {
        let pool = memory_pool().await;
        let kept = Kept::default();
        let mut first = kept.take(&pool).await.unwrap();
        run(&mut first, "CREATE TABLE marker (id INTEGER)")
            .await
            .unwrap();
        kept.keep(first);
        // Kept, not given back: the pool could hand a given-back connection out again too.
        assert_eq!(kept.0.lock().unwrap().len(), 1);
        let mut again = kept.take(&pool).await.unwrap();
        assert!(kept.0.lock().unwrap().is_empty());
        run(&mut again, "SELECT id FROM marker").await.unwrap();
    }

    #[tokio::test]
    async fn no_more_than_keep_connections_are_kept() {
        let pool = memory_pool().await;
        let kept = Kept::default();
        let mut taken = Vec::new();
        for _ in 0..=KEEP {
            taken.push(kept.take(&pool).await.unwrap());
        }
        for held in taken {
            kept.keep(held);
        }
        assert_eq!(kept.0.lock().unwrap().len(), KEEP);
    }
}
