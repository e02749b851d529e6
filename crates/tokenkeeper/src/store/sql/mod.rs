//! The one store: a pool of whichever database the URL names, and the statements, written as
//! plain code. A statement the dialects agree on is written once with `?` parameters and
//! bound once inside `on_each!`, which compiles it for each pool; where they differ (claims,
//! upserts, RETURNING, ON CONFLICT) a `match` gives each dialect its own statement.

mod accounts;
mod admin;
mod connect;
mod host_api;
mod import;
mod kept;
#[cfg(feature = "mysql")]
mod mysql;
mod outbox;
mod outbox_table;
#[cfg(feature = "postgres")]
mod postgres;
mod refresh;
mod report;
mod report_by_provider;
mod rotation;
mod runs;
mod settings;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statement;
mod webhooks;

pub use accounts::MAX_USERS_PER_READ;
use kept::Held;
pub use refresh::claim_due_statement;
pub use statement::Dialect;
pub(super) use statement::Statement;

use super::{StoreError, WebhookEvents};
use crate::crypto::{Plaintext, TokenCipher};
use sqlx::Transaction;

// Each database is a cargo feature (`sqlite`, `postgres`, `mysql`, all on by default), which
// turns on its sqlx driver and, here, its variant of `Pool`, `Tx` and `Held`, its module and
// its migrations. A URL naming a database left out is refused when the store is opened.
#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "tokenkeeper needs at least one database: enable the `sqlite`, `postgres` or `mysql` feature"
);

/// Runs `$body` once per variant of `$enum` (`Pool`, `Tx` or `Held`), with `$inner` bound to
/// the variant's pool, transaction or connection and `$dialect` naming it. Each arm is
/// compiled for its own database, so a shared statement is bound in one place and
/// type-checked against every database built in. A list of variants and a last arm (which
/// may carry attributes, such as its database's `cfg`) let a caller take one dialect aside.
macro_rules! on_each {
    ($enum:ident, $value:expr, |$inner:ident, $dialect:ident| $body:expr) => {
        on_each!($enum, $value, [Sqlite, Postgres, MySql] |$inner, $dialect| $body)
    };
    ($enum:ident, $value:expr, [$($variant:ident),+] |$inner:ident, $dialect:ident| $body:expr
        $(, $(#[$attr:meta])* $rest:pat => $other:expr)?) => {
        on_each!(@features [$($variant)+] []
            $enum, $value, |$inner, $dialect| $body $(, $(#[$attr])* $rest => $other)?)
    };
    // Each variant is paired with the cargo feature that builds it in, one at a time.
    (@features [Sqlite $($more:ident)*] [$($done:tt)*] $($args:tt)*) => {
        on_each!(@features [$($more)*] [$($done)* ("sqlite" Sqlite)] $($args)*)
    };
    (@features [Postgres $($more:ident)*] [$($done:tt)*] $($args:tt)*) => {
        on_each!(@features [$($more)*] [$($done)* ("postgres" Postgres)] $($args)*)
    };
    (@features [MySql $($more:ident)*] [$($done:tt)*] $($args:tt)*) => {
        on_each!(@features [$($more)*] [$($done)* ("mysql" MySql)] $($args)*)
    };
    (@features [] [$(($feature:literal $variant:ident))*]
        $enum:ident, $value:expr, |$inner:ident, $dialect:ident| $body:expr
        $(, $(#[$attr:meta])* $rest:pat => $other:expr)?) => {
        match $value {
            $(#[cfg(feature = $feature)]
            $crate::store::sql::$enum::$variant($inner) => {
                #[allow(unused_variables)]
                let $dialect = $crate::store::sql::Dialect::$variant;
                $body
            })*
            $($(#[$attr])* $rest => $other,)?
        }
    };
}
pub(super) use on_each;

/// The connection pool of the configured database.
#[derive(Clone)]
pub(super) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// A transaction on one of the pools.
pub(super) enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(Transaction<'static, sqlx::MySql>),
}

impl Tx {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        on_each!(Tx, self, |tx, dialect| tx.commit().await)
    }

    pub(super) async fn rollback(self) -> Result<(), sqlx::Error> {
        on_each!(Tx, self, |tx, dialect| tx.rollback().await)
    }
}

/// The store over any of the databases built in. Every trait of the storage boundary is
/// implemented for it, one file per trait.
#[derive(Clone)]
pub struct SqlStore {
    pool: Pool,
    /// Seals `token` and `refresh_token` on every write and opens them on every read: no
    /// other code sees their stored form.
    cipher: TokenCipher,
    /// Whether state changes write their webhook events (sql/webhooks.rs).
    webhooks: WebhookEvents,
    /// The gathered token reads' connections, kept between their statements (kept.rs).
    kept: kept::Kept,
    /// Whether the database accepts plaintext tokens, as it recorded (settings.rs); read when
    /// the store migrates it.
    recorded_plaintext: std::sync::Arc<std::sync::OnceLock<Plaintext>>,
}

impl SqlStore {
    /// Opens the database the URL names: `sqlite:`, `postgres(ql)://` or `mysql://` /
    /// `mariadb://`. Anything else, or a database this build leaves out, is refused naming
    /// only its scheme (the rest may hold a password).
    pub async fn connect(database_url: &str, cipher: TokenCipher) -> Result<Self, StoreError> {
        let pool = Pool::open(database_url).await?;
        Ok(Self {
            pool,
            cipher,
            webhooks: WebhookEvents::Off,
            kept: kept::Kept::default(),
            recorded_plaintext: Default::default(),
        })
    }

    /// The store writing webhook events with its state changes (or not: `Off`).
    pub fn with_webhook_events(mut self, webhooks: WebhookEvents) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn dialect(&self) -> Dialect {
        on_each!(Pool, &self.pool, |_pool, dialect| dialect)
    }

    pub(super) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Tx::MySql(pool.begin().await?),
        })
    }

    /// Applies the migrations, then reads what the database records about itself.
    pub(super) async fn run_migrations(&self) -> Result<(), StoreError> {
        self.pool.migrate().await?;
        self.read_settings().await
    }
}

impl Pool {
    async fn open(database_url: &str) -> Result<Self, StoreError> {
        let Some(dialect) = Dialect::of_url(database_url) else {
            return Err(StoreError::UnsupportedUrl(scheme_of(database_url)));
        };
        Ok(match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => Pool::Sqlite(sqlite::open(database_url).await?),
            #[cfg(feature = "postgres")]
            Dialect::Postgres => Pool::Postgres(postgres::open(database_url).await?),
            #[cfg(feature = "mysql")]
            Dialect::MySql => Pool::MySql(mysql::open(database_url).await?),
            #[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
            left_out => {
                return Err(StoreError::NotBuiltIn {
                    scheme: scheme_of(database_url),
                    feature: match left_out {
                        Dialect::Sqlite => "sqlite",
                        Dialect::Postgres => "postgres",
                        Dialect::MySql => "mysql",
                    },
                })
            }
        })
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
            #[cfg(feature = "mysql")]
            Pool::MySql(_) => sqlx::migrate!("./migrations/mysql"),
        }
    }

    /// One round trip, for readiness and the doctor.
    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        on_each!(Pool, self, |pool, dialect| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// The migrations of this dialect the database has not applied, read without changing it.
    pub(super) async fn unapplied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let applied = on_each!(Pool, self, |pool, dialect| {
            sqlx::query_scalar(super::migrations::APPLIED)
                .fetch_all(pool)
                .await
        });
        super::migrations::unapplied(&self.migrator(), applied)
    }

    /// Applies this backend's migrations, each dialect from its own folder. Idempotent.
    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = self.migrator();
        on_each!(Pool, self, |pool, dialect| migrator.run(pool).await?);
        Ok(())
    }
}

/// Migrates the database the URL names without a keyring: `tokenkeeper migrate` reads and
/// writes no token, so it runs without `encryption.keys`.
pub async fn migrate_database(database_url: &str) -> Result<(), StoreError> {
    Pool::open(database_url).await?.migrate().await
}

/// A database opened without a keyring, for the doctor: one round trip and the migrations it
/// lacks read no token, so the check works before `encryption.keys` is set.
pub struct BareDatabase {
    pool: Pool,
}

impl BareDatabase {
    pub async fn open(database_url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            pool: Pool::open(database_url).await?,
        })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.ping().await
    }

    pub async fn unapplied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        self.pool.unapplied_migrations().await
    }

    /// On MariaDB and MySQL, InnoDB's buffer pool and the accounts table with its indexes;
    /// `None` on the other databases, which read through the operating system's cache.
    pub async fn innodb_room(&self) -> Result<Option<InnodbRoom>, StoreError> {
        match &self.pool {
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Ok(Some(mysql::innodb_room(pool).await?)),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Ok(None),
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Ok(None),
        }
    }
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

fn scheme_of(database_url: &str) -> String {
    database_url
        .split_once(':')
        .map_or("", |(scheme, _)| scheme)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
        .take(20)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::SqlStore;

    fn cipher() -> crate::crypto::TokenCipher {
        crate::crypto::TokenCipher::new(
            crate::crypto::Keyring::parse("k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", None)
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn an_unsupported_url_is_refused_naming_only_its_scheme_and_the_supported_ones() {
        let Err(refused) = SqlStore::connect("mssql://sa:hunter2@db/tk", cipher()).await else {
            panic!("an mssql URL was accepted");
        };
        let message = refused.to_string();
        assert!(message.contains("\"mssql\""), "{message}");
        for supported in ["sqlite://", "postgres://", "mysql://"] {
            assert!(message.contains(supported), "{message}");
        }
        assert!(!message.contains("hunter2"), "{message}");
    }

    /// Compiled only into a build without MySQL, which CI makes for it (.ci/run).
    #[cfg(not(feature = "mysql"))]
    #[tokio::test]
    async fn a_database_left_out_of_the_build_is_refused_naming_its_feature() {
        for url in [
            "mysql://root:hunter2@127.0.0.1:3306/mysql",
            "mariadb://root:hunter2@127.0.0.1:3306/mysql",
        ] {
            let scheme = url.split_once(':').unwrap().0;
            let Err(refused) = SqlStore::connect(url, cipher()).await else {
                panic!("{scheme}: opened without the mysql feature");
            };
            let message = refused.to_string();
            assert!(
                matches!(
                    refused,
                    crate::store::StoreError::NotBuiltIn {
                        feature: "mysql",
                        ..
                    }
                ),
                "{message}"
            );
            assert!(message.contains(&format!("{scheme:?}")), "{message}");
            assert!(message.contains("`mysql` feature"), "{message}");
            assert!(message.contains("--features mysql"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
            // The commands that open the database without a keyring say the same.
            let message = super::migrate_database(url).await.unwrap_err().to_string();
            assert!(message.contains("`mysql` feature"), "{message}");
            let Err(refused) = super::BareDatabase::open(url).await else {
                panic!("{scheme}: the doctor opened it without the mysql feature");
            };
            assert!(refused.to_string().contains("`mysql` feature"), "{refused}");
        }
    }
}
