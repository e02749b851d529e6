//! Databases for tests and benchmarks: each caller gets a fresh, empty database of its own.
//! A dev-only crate: it hands out URLs and cleans up, and knows nothing of tokenkeeper.
//! A backend whose server is unreachable is skipped, and the skip reported, except under
//! `CI=true`, where a missing server is a failure.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MariaDB 10.6+ or MySQL 8, through `mysql://` URLs.
    MySql,
}

impl Backend {
    /// Every backend the suites run on; a new backend is added here and in `probe`.
    pub const ALL: &'static [Backend] = &[Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The name tests are filed under (`module::postgres::test`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// The variable naming the server a backend's tests use.
    fn variable(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("TOKENKEEPER_TEST_POSTGRES_URL"),
            Backend::MySql => Some("TOKENKEEPER_TEST_MYSQL_URL"),
        }
    }

    /// The server's URL for creating and dropping databases.
    fn admin_url(self) -> String {
        let default = match self {
            Backend::Sqlite => return String::new(),
            Backend::Postgres => "postgres://postgres@127.0.0.1:5432/postgres",
            Backend::MySql => "mysql://root@127.0.0.1:3306/mysql",
        };
        self.variable()
            .and_then(|v| std::env::var(v).ok())
            .unwrap_or_else(|| default.to_owned())
    }
}

/// Whether tests on a backend can run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not reachable: the tests are reported as skipped, with this reason.
    Skip(String),
    /// Not reachable where every backend must run (CI): the tests fail with this reason.
    Fail(String),
}

/// What to do with a backend's tests, given whether its server answered and whether this run
/// is CI (where a skipped backend would make a green run that tested nothing).
pub fn decide(backend: Backend, reachable: Result<(), String>, ci: bool) -> Readiness {
    match reachable {
        Ok(()) => Readiness::Ready,
        Err(reason) => {
            let variable = backend
                .variable()
                .map(|v| format!(" (set {v})"))
                .unwrap_or_default();
            let reason = format!("{} unreachable: {reason}{variable}", backend.name());
            if ci {
                Readiness::Fail(format!("{reason}; under CI=true every backend must run"))
            } else {
                Readiness::Skip(reason)
            }
        }
    }
}

/// Whether this run is CI, where no backend may be skipped.
pub fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Connects once to the backend's server, as tests would, to learn whether they can run.
pub async fn readiness(backend: Backend) -> Readiness {
    decide(backend, probe(backend).await, running_in_ci())
}

async fn probe(backend: Backend) -> Result<(), String> {
    if backend == Backend::Sqlite {
        return Ok(());
    }
    let admin = backend.admin_url();
    // A firewalled host would otherwise hold every test of the backend for minutes.
    match tokio::time::timeout(Duration::from_secs(10), admin_connection(backend, &admin)).await {
        Ok(Ok(conn)) => {
            conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("cannot reach {admin}: no answer within 10 s")),
    }
}

/// A connection to a server as its administrator, whichever the server is.
enum AdminConnection {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl AdminConnection {
    async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            AdminConnection::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            AdminConnection::MySql(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
    }

    /// Drops the database `name` even while sessions still use it. A test that failed may
    /// leave its runtime's connections open, some inside a transaction (its rollback never
    /// sent): MySQL's DROP would wait for their locks for a year by default, and the run
    /// with it. PostgreSQL ends them itself (`WITH (FORCE)`); on MySQL they are killed first.
    async fn drop_database(&mut self, name: &str) -> Result<(), sqlx::Error> {
        match self {
            AdminConnection::Postgres(c) => {
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(c)
                    .await?;
            }
            AdminConnection::MySql(c) => {
                let sessions: Vec<i64> = sqlx::query_scalar(
                    "SELECT CAST(id AS SIGNED) FROM information_schema.processlist WHERE db = ?",
                )
                .bind(name)
                .fetch_all(&mut *c)
                .await?;
                for id in sessions {
                    // A session may end by itself meanwhile.
                    let _ = sqlx::raw_sql(&format!("KILL CONNECTION {id}"))
                        .execute(&mut *c)
                        .await;
                }
                // Killed sessions release their locks as they end; a wait is bounded all the same.
                sqlx::raw_sql("SET SESSION lock_wait_timeout = 60")
                    .execute(&mut *c)
                    .await?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok(())
    }

    async fn close(self) {
        use sqlx::Connection;
        let _ = match self {
            AdminConnection::Postgres(c) => c.close().await,
            AdminConnection::MySql(c) => c.close().await,
        };
    }
}

async fn admin_connection(backend: Backend, admin_url: &str) -> Result<AdminConnection, String> {
    use sqlx::Connection;
    let unreachable = |e: sqlx::Error| format!("cannot reach {admin_url}: {e}");
    match backend {
        Backend::Sqlite => unreachable!("SQLite has no server"),
        Backend::Postgres => sqlx::PgConnection::connect(admin_url)
            .await
            .map(AdminConnection::Postgres)
            .map_err(unreachable),
        Backend::MySql => sqlx::MySqlConnection::connect(admin_url)
            .await
            .map(AdminConnection::MySql)
            .map_err(unreachable),
    }
}

pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    sqlite_dir: Option<PathBuf>,
    /// (server URL to connect to for the drop, database name)
    server: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, empty (unmigrated) database. `None` when its server is unreachable outside CI.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        let name = format!("tk_{}", uuid::Uuid::new_v4().simple());
        if backend == Backend::Sqlite {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).expect("a temporary directory");
            return Some(TestDatabase {
                url: format!("sqlite://{}", dir.join("tokenkeeper.db").display()),
                backend,
                sqlite_dir: Some(dir),
                server: None,
            });
        }
        let admin = backend.admin_url();
        match create_on_server(backend, &admin, &name).await {
            Ok(url) => Some(TestDatabase {
                url,
                backend,
                sqlite_dir: None,
                server: Some((admin, name)),
            }),
            Err(reason) => match decide(backend, Err(reason), running_in_ci()) {
                Readiness::Fail(message) => panic!("{message}"),
                Readiness::Skip(message) => {
                    eprintln!("skipping: {message}");
                    None
                }
                Readiness::Ready => unreachable!("an error is never ready"),
            },
        }
    }
}

async fn create_on_server(backend: Backend, admin_url: &str, name: &str) -> Result<String, String> {
    let mut admin = admin_connection(backend, admin_url).await?;
    let create = match backend {
        Backend::MySql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        _ => format!("CREATE DATABASE {name}"),
    };
    let created = admin.execute(&create).await;
    admin.close().await;
    created.map_err(|e| format!("cannot create a database: {e}"))?;
    let mut url = url::Url::parse(admin_url).map_err(|e| e.to_string())?;
    url.set_path(name);
    Ok(url.to_string())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        let backend = self.backend;
        if let Some((admin, name)) = self.server.take() {
            // Drop runs outside any runtime we may block; a thread of its own does the work.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    if let Ok(mut conn) = admin_connection(backend, &admin).await {
                        let _ = conn.drop_database(&name).await;
                        conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test that failed can leave its connections open, one inside a transaction; dropping
    /// its database must not wait for them (MySQL's DROP would wait a year for the locks).
    #[test]
    fn a_database_an_abandoned_transaction_still_uses_is_dropped() {
        use sqlx::Connection;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let Some(database) = runtime.block_on(TestDatabase::create(Backend::MySql)) else {
            return;
        };
        let name = database.server.clone().expect("a server database").1;
        let abandoned = runtime.block_on(async {
            let mut connection = sqlx::MySqlConnection::connect(&database.url).await.unwrap();
            sqlx::raw_sql("CREATE TABLE t (id INT PRIMARY KEY); BEGIN; INSERT INTO t VALUES (1)")
                .execute(&mut connection)
                .await
                .unwrap();
            connection
        });
        let (done, dropped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(database);
            let _ = done.send(());
        });
        // A bound on the failure only: past MySQL's own 60 s the drop gives up.
        dropped
            .recv_timeout(Duration::from_secs(120))
            .expect("the drop waited for the abandoned transaction");
        let left: Vec<String> = runtime.block_on(async {
            let mut admin = sqlx::MySqlConnection::connect(&Backend::MySql.admin_url())
                .await
                .unwrap();
            sqlx::query_scalar(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?",
            )
            .bind(&name)
            .fetch_all(&mut admin)
            .await
            .unwrap()
        });
        assert!(left.is_empty(), "{name} is still there");
        drop(abandoned);
    }

    #[test]
    fn a_reachable_backend_runs_everywhere() {
        for ci in [false, true] {
            assert_eq!(decide(Backend::Postgres, Ok(()), ci), Readiness::Ready);
        }
    }

    #[test]
    fn an_unreachable_backend_is_skipped_with_its_reason_outside_ci() {
        let readiness = decide(Backend::Postgres, Err("connection refused".into()), false);
        assert_eq!(
            readiness,
            Readiness::Skip(
                "postgres unreachable: connection refused \
                 (set TOKENKEEPER_TEST_POSTGRES_URL)"
                    .into()
            )
        );
    }

    #[test]
    fn an_unreachable_backend_fails_under_ci() {
        let readiness = decide(Backend::Postgres, Err("connection refused".into()), true);
        let Readiness::Fail(reason) = readiness else {
            panic!("expected a failure, got {readiness:?}");
        };
        assert!(reason.contains("connection refused"), "{reason}");
        assert!(reason.contains("CI=true"), "{reason}");
    }
}

#[cfg(test)]
mod mysql_tests {
    use super::*;

    #[test]
    fn an_unreachable_mysql_names_its_variable() {
        let readiness = decide(Backend::MySql, Err("connection refused".into()), false);
        assert_eq!(
            readiness,
            Readiness::Skip(
                "mysql unreachable: connection refused (set TOKENKEEPER_TEST_MYSQL_URL)".into()
            )
        );
    }
}
