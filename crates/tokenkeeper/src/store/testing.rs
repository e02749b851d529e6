//! Databases for tests and benchmarks: each caller gets a fresh, empty database of its own.
//! A backend whose server is unreachable is skipped, and the skip reported, except under
//! `CI=true`, where a missing server is a failure.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Every backend the suites run on; a new backend is added here and in `probe`.
    pub const ALL: &'static [Backend] = &[Backend::Sqlite, Backend::Postgres];

    /// The name tests are filed under (`module::postgres::test`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
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
            let variable = match backend {
                Backend::Sqlite => "",
                Backend::Postgres => " (set TOKENKEEPER_TEST_POSTGRES_URL)",
            };
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
    match backend {
        Backend::Sqlite => Ok(()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = postgres_admin_url();
            // A firewalled host would otherwise hold every PostgreSQL test for minutes.
            let connecting = sqlx::PgConnection::connect(&admin);
            match tokio::time::timeout(Duration::from_secs(10), connecting).await {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                    Ok(())
                }
                Ok(Err(e)) => Err(format!("cannot reach {admin}: {e}")),
                Err(_) => Err(format!("cannot reach {admin}: no answer within 10 s")),
            }
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("TOKENKEEPER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
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
                let admin = postgres_admin_url();
                match create_postgres(&admin, &name).await {
                    Ok(url) => Some(TestDatabase {
                        url,
                        backend,
                        sqlite_dir: None,
                        postgres: Some((admin, name)),
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

#[cfg(test)]
mod tests {
    use super::*;

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
