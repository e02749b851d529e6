//! PostgreSQL, for production and for several instances sharing the work.

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

pub(super) async fn open(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        .connect(&without_unread_parameters(url))
        .await
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

#[cfg(test)]
mod tests {
    use super::without_unread_parameters;

    #[test]
    fn parameters_postgres_reads_are_kept_and_the_rest_dropped() {
        assert_eq!(
            without_unread_parameters(
                "postgres://u@h/db?sslmode=require&&sslpassword=s3cret&options[search_path]=tk&ssl%6Dode=verify-full"
            ),
            "postgres://u@h/db?sslmode=require&options[search_path]=tk&ssl%6Dode=verify-full"
        );
    }

    #[test]
    fn a_url_left_with_no_parameter_has_no_query() {
        assert_eq!(
            without_unread_parameters("postgres://u@h/db?sslpassword=s3cret&api_token=t"),
            "postgres://u@h/db"
        );
        assert_eq!(
            without_unread_parameters("postgres://u@h/db"),
            "postgres://u@h/db"
        );
    }
}
