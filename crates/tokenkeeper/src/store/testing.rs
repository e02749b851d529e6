//! Databases for tests and benchmarks: each caller gets a fresh, empty database of its own.
//! PostgreSQL tests skip with a notice when no server is reachable, except under `CI=true`,
//! where a missing server is a failure.

use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    sqlite_dir: Option<PathBuf>,
    /// (server URL to connect to for the drop, database name)
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, empty (unmigrated) database. `None` when PostgreSQL is unreachable outside CI.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        let name = format!("tk_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("a temporary directory");
                Some(TestDatabase {
                    url: format!("sqlite://{}", dir.join("tokenkeeper.db").display()),
                    backend,
                    sqlite_dir: Some(dir),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let admin = std::env::var("TOKENKEEPER_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
                match create_postgres(&admin, &name).await {
                    Ok(url) => Some(TestDatabase {
                        url,
                        backend,
                        sqlite_dir: None,
                        postgres: Some((admin, name)),
                    }),
                    Err(reason) => {
                        let message = format!(
                            "skipping PostgreSQL test: {reason} (set TOKENKEEPER_TEST_POSTGRES_URL)"
                        );
                        if std::env::var("CI").is_ok_and(|v| v == "true") {
                            panic!("{message}; under CI=true PostgreSQL tests must run");
                        }
                        eprintln!("{message}");
                        None
                    }
                }
            }
        }
    }
}

async fn create_postgres(admin_url: &str, name: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("cannot reach {admin_url}: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("cannot create a database: {e}"))?;
    let mut url = url::Url::parse(admin_url).map_err(|e| e.to_string())?;
    url.set_path(name);
    Ok(url.to_string())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside any runtime we may block; a thread of its own does the work.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}
