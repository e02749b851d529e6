//! PostgreSQL, for production and for several instances sharing the work.

use super::connect::impl_connect_store;
use super::sql::impl_store;
use super::StoreError;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// Rows another sweep holds are skipped, not waited for; the CTE is evaluated once, so the
/// LIMIT holds.
const CLAIM_DUE: &str = "
WITH due AS (
    SELECT id FROM social_network
    WHERE status IN ('active', 'refresh_failing') AND expiration <= $1
      AND (claimed_until IS NULL OR claimed_until < $4)
    ORDER BY expiration, id
    LIMIT $5
    FOR UPDATE SKIP LOCKED)
UPDATE social_network s SET claimed_until = $2, claimed_by = $3, version = s.version + 1
FROM due WHERE s.id = due.id
RETURNING s.*";

/// Notifications due for delivery, each claim under its owner's token; rows another worker
/// holds are skipped. A row whose claim was renewed or cancelled meanwhile is re-checked
/// under the lock, so it is not taken.
const CLAIM_NOTIFICATIONS: &str = "
WITH due AS (
    SELECT id FROM notifications
    WHERE status = 'pending' AND send_after <= $1 AND next_attempt_at <= $1
      AND (claimed_until IS NULL OR claimed_until < $1)
    ORDER BY id
    LIMIT $4
    FOR UPDATE SKIP LOCKED)
UPDATE notifications n SET claimed_until = $2, claimed_by = $3
FROM due WHERE n.id = due.id
RETURNING n.id, n.account_id, n.kind, n.dedupe_key, n.deadline, n.attempts";

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(&without_unread_parameters(url))
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }
}

/// Query parameters sqlx reads from a PostgreSQL URL.
const READ_PARAMETERS: [&str; 18] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// sqlx ignores a parameter it does not know with a warning that prints its value, and the
/// value may be a secret (libpq's `sslpassword`, say). Such parameters are dropped here,
/// with a warning that names only the key.
fn without_unread_parameters(database_url: &str) -> String {
    let Ok(mut url) = url::Url::parse(database_url) else {
        return database_url.to_owned();
    };
    let Some(query) = url.query().map(str::to_owned) else {
        return database_url.to_owned();
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let raw_key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let key: String = url::form_urlencoded::parse(raw_key.as_bytes())
            .map(|(k, v)| format!("{k}{v}"))
            .collect();
        if READ_PARAMETERS.contains(&key.as_str()) || key.starts_with("options[") {
            kept.push(pair);
        } else {
            tracing::warn!(
                parameter = key.chars().take(40).collect::<String>(),
                "database_url: ignoring a query parameter PostgreSQL connections do not read"
            );
        }
    }
    url.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
    url.to_string()
}

impl PostgresStore {
    /// The claim statement itself, so the benchmark can check from outside that claiming
    /// reads the due rows and not the whole table.
    pub const CLAIM_DUE_SQL: &'static str = CLAIM_DUE;
}

impl_store!(
    PostgresStore,
    sqlx::Postgres,
    CLAIM_DUE,
    CLAIM_NOTIFICATIONS
);
impl_connect_store!(PostgresStore);
super::host_api_sql::impl_host_api_store!(
    PostgresStore,
    sqlx::Postgres,
    super::host_api_sql::FORECAST_POSTGRES
);
