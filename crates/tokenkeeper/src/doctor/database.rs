//! The database: opened with the configured URL, asked one round trip, and asked which
//! migrations it lacks. Nothing is written; the URL is never printed (it may hold a password).

use super::{Finding, PATIENCE};
use crate::config::Config;
use crate::store::InnodbRoom;

const CHECK: &str = "database";

pub async fn examine(config: &Config) -> Finding {
    let scheme = config
        .database_url
        .expose()
        .split_once(':')
        .map_or("", |(scheme, _)| scheme);
    if let Err(why) = server_reachable(config.database_url.expose()).await {
        return Finding::fail(CHECK, format!("the {scheme} server named by database_url {why}: check its host and port, that it runs, and that a firewall lets this machine through"));
    }
    let opened = tokio::time::timeout(
        PATIENCE,
        crate::store::BareDatabase::open(config.database_url.expose()),
    )
    .await;
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            return Finding::fail(
                CHECK,
                format!(
                    "cannot open the {scheme} database named by database_url ({}): check the host, port, user, password and database name",
                    crate::telemetry::error_chain(&e)
                ),
            )
        }
        Err(_) => {
            return Finding::fail(
                CHECK,
                format!("the {scheme} database named by database_url did not answer within {}s: check the host and port, and that a firewall lets this machine through", PATIENCE.as_secs()),
            )
        }
    };
    let asked = tokio::time::timeout(PATIENCE, async {
        store.ping().await?;
        let missing = store.unapplied_migrations().await?;
        // Only a hint: a server that will not tell its sizes is not a failing database.
        let room = store.innodb_room().await.ok().flatten();
        Ok::<_, crate::store::StoreError>((missing, room))
    })
    .await;
    match asked {
        Ok(Ok((missing, room))) if missing.is_empty() => {
            let answers = format!("{scheme} database answers; every migration is applied");
            match room.map(room_for_accounts) {
                Some(Ok(holds)) => Finding::ok(CHECK, format!("{answers}; {holds}")),
                Some(Err(short)) => Finding::warn(CHECK, format!("{answers}, but {short}")),
                None => Finding::ok(CHECK, answers),
            }
        }
        Ok(Ok((missing, _))) => Finding::warn(
            CHECK,
            format!(
                "{scheme} database answers, but {} migration(s) are not applied (versions {}): `serve` applies them at start, or run `tokenkeeper migrate`",
                missing.len(),
                missing
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Ok(Err(e)) => Finding::fail(
            CHECK,
            format!(
                "the {scheme} database opened but a query failed ({}): check the user's rights on the database",
                crate::telemetry::error_chain(&e)
            ),
        ),
        Err(_) => Finding::fail(
            CHECK,
            format!("the {scheme} database opened but did not answer a query within {}s", PATIENCE.as_secs()),
        ),
    }
}

/// A TCP connection to a database server, tried first: sqlx's pool retries a refused
/// connection until its own timeout, which would hide "nobody listens there" behind a wait.
/// Says only the host and port, never the rest of the URL.
async fn server_reachable(database_url: &str) -> Result<(), String> {
    let Ok(url) = url::Url::parse(database_url) else {
        return Ok(());
    };
    let port = match url.scheme() {
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        _ => return Ok(()),
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    let port = url.port().unwrap_or(port);
    match tokio::time::timeout(PATIENCE, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot be reached at {host}:{port} ({e})")),
        Err(_) => Err(format!(
            "did not accept a connection at {host}:{port} within {}s",
            PATIENCE.as_secs()
        )),
    }
}

/// Whether InnoDB's buffer pool holds the accounts table: `Ok` saying so, or `Err` saying what
/// the reads will suffer and what to change.
fn room_for_accounts(room: InnodbRoom) -> Result<String, String> {
    let mb = |bytes: u64| bytes.div_ceil(1024 * 1024);
    let (pool, table) = (mb(room.buffer_pool), mb(room.accounts_table));
    if room.accounts_table <= room.buffer_pool {
        Ok(format!(
            "InnoDB's buffer pool ({pool} MB) holds the accounts table ({table} MB)"
        ))
    } else {
        Err(format!(
            "the accounts table ({table} MB) is larger than InnoDB's buffer pool ({pool} MB): token reads of accounts outside it wait for the disk; raise innodb_buffer_pool_size above the table's size (docs/operating.md, MariaDB and MySQL)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn a_buffer_pool_smaller_than_the_accounts_table_is_named_with_the_fix() {
        let short = room_for_accounts(InnodbRoom {
            buffer_pool: 128 * MB,
            accounts_table: 481 * MB,
        })
        .unwrap_err();
        assert!(short.contains("accounts table (481 MB)"), "{short}");
        assert!(short.contains("buffer pool (128 MB)"), "{short}");
        assert!(short.contains("innodb_buffer_pool_size"), "{short}");
    }

    #[test]
    fn a_buffer_pool_that_holds_the_table_exactly_is_enough() {
        let holds = room_for_accounts(InnodbRoom {
            buffer_pool: 128 * MB,
            accounts_table: 128 * MB,
        })
        .unwrap();
        assert_eq!(
            holds,
            "InnoDB's buffer pool (128 MB) holds the accounts table (128 MB)"
        );
        assert!(room_for_accounts(InnodbRoom {
            buffer_pool: 128 * MB,
            accounts_table: 128 * MB + 1,
        })
        .is_err());
    }
}
