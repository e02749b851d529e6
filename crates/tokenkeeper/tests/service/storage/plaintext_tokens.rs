//! Plaintext token values: a bare value needs no key to write, so someone who can write to the
//! database but holds no key could plant a token of their choosing in any row. Such a value is
//! read as a token only where `encryption.allow_plaintext` (or, unset, the database's own
//! record) allows it: a database created by this version refuses it, one upgraded while it
//! held plaintext accepts it until the operator closes the rule. An empty value is never a
//! token. Each test plants values with SQL past the store, as such an attacker would.

use crate::backend_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::raw_sql;
use crate::support::{spawn, spawn_app, spawn_on, t0, test_cipher, Setup, TestApp};
use chrono::Duration;
use reqwest::{Method, StatusCode};
use test_databases::{Backend, TestDatabase};
use tokenkeeper::domain::{
    AccessToken, Account, EmailAddress, ExpiryPolicy, LinkedAccount, MemberId, RefreshToken,
    TokenSet, UserId,
};
use tokenkeeper::store::{AccountStore, Dialect, SqlStore};

backend_tests!(
    a_fresh_database_neither_serves_nor_refreshes_a_planted_plaintext_token,
    plaintext_is_served_and_refreshed_where_it_is_allowed,
    an_upgraded_database_that_held_plaintext_reads_it_until_keys_rotate_seals_it,
    an_upgraded_database_that_held_no_plaintext_refuses_it,
    an_empty_stored_token_is_an_error_never_an_empty_token,
    doctor_names_the_accounts_whose_tokens_do_not_open,
);

/// The warning `serve` logs at start while plaintext is read.
const PLAINTEXT_READ: &str = "plaintext token values are read as tokens";

/// Tokens LinkedIn issued to someone else (the attacker's own member), written in plaintext
/// into the victim's row. The attacker's account is deleted first, so any use of these tokens
/// can only come from the victim's row.
async fn plant_anothers_tokens(app: &TestApp, victim: &Account) -> Account {
    let attacker = app.linked("u-attacker").await;
    let (status, _) = app
        .api_request(Method::DELETE, "/api/v1/accounts/u-attacker")
        .await;
    assert_eq!(status, StatusCode::OK);
    plant(
        app,
        victim.id,
        attacker.token.expose(),
        attacker.refresh_token.as_ref().map(RefreshToken::expose),
    )
    .await;
    attacker
}

/// Writes the two token columns of row `id` as they are, past the store.
async fn plant(app: &TestApp, id: i64, token: &str, refresh_token: Option<&str>) {
    let refresh_token = refresh_token.map_or("NULL".to_owned(), |value| format!("'{value}'"));
    let changed = raw_sql::execute(
        app.config.database_url.expose(),
        &format!(
            "UPDATE social_network SET token = '{token}', refresh_token = {refresh_token} WHERE id = {id}"
        ),
    )
    .await
    .unwrap();
    assert_eq!(changed, 1);
}

/// The refusal the host API answers for `user_id`: 500 `token_unreadable`, naming the row
/// and never a stored value. Returns its message.
async fn refused_read(app: &TestApp, user_id: &str, account_id: i64, secrets: &[&str]) -> String {
    let (status, body) = app.api_get(&format!("/api/v1/accounts/{user_id}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"], "token_unreadable", "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    let message = body["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("account {account_id} of user \"{user_id}\"")),
        "{message}"
    );
    assert!(message.contains("social_network"), "{message}");
    for secret in secrets {
        assert!(
            !body.to_string().contains(secret),
            "a stored value is shown"
        );
    }
    message
}

async fn a_fresh_database_neither_serves_nor_refreshes_a_planted_plaintext_token(backend: Backend) {
    // No setting: a database this version created refuses plaintext by default.
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let logs = LogCapture::start("error", LogFormat::Human);
    let victim = app.linked("u-victim").await;
    let attacker = plant_anothers_tokens(&app, &victim).await;
    let planted = [
        attacker.token.expose(),
        attacker.refresh_token.as_ref().unwrap().expose(),
    ];
    LogCapture::ask_call_sites_again();

    let message = refused_read(&app, "u-victim", victim.id, &planted).await;
    assert!(message.contains("token: "), "{message}");
    assert!(message.contains("encryption.allow_plaintext"), "{message}");
    // Asked again, the same answer: the refusal leaves nothing behind (no claim held).
    refused_read(&app, "u-victim", victim.id, &planted).await;

    // A refresh on demand sends nothing to LinkedIn, and neither does the sweep.
    let controls = app.fake.controls();
    controls.reset_counters();
    for action in ["refresh", "invalid"] {
        let (status, body) = app
            .api_request(Method::POST, &format!("/api/v1/accounts/u-victim/{action}"))
            .await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{action}: {body}"
        );
        assert_eq!(body["error"], "token_unreadable", "{action}: {body}");
    }
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        (
            report.counts.due,
            report.counts.unreadable,
            report.counts.refreshed
        ),
        (1, 1, 0),
        "{report:?}"
    );
    let run = app.store.recent_runs(1).await.unwrap().remove(0);
    assert_eq!(run.counts.unreadable, 1, "the run records it");
    assert_eq!(controls.refresh_grants_for(attacker.member_id.as_str()), 0);
    assert_eq!(controls.refresh_grants(), 0);

    // The log names the row each time, never a value.
    let logged = logs.text();
    assert!(
        logged.contains(&format!("account {} of user \"u-victim\"", victim.id)),
        "{logged}"
    );
    assert!(
        logged.contains("not refreshing an account whose stored row cannot be read"),
        "{logged}"
    );
    for secret in planted {
        assert!(!logged.contains(secret), "a planted token is logged");
    }
    // `keys rotate` does not seal them into trusted values: it names the row and fails.
    let rotated = keys_rotate(&app).await;
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(!rotated.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("account {}: token: ", victim.id)),
        "{stdout}"
    );
    assert!(stdout.contains("plaintext: 0 sealed, 1 left"), "{stdout}");
    assert!(
        stdout
            .contains("1 row(s) hold plaintext, which encryption.allow_plaintext = false refuses"),
        "{stdout}"
    );
    let stored = raw_sql::token_columns(app.config.database_url.expose()).await;
    assert_eq!(stored[0].0, planted[0]);
    assert_eq!(stored[0].1.as_deref(), Some(planted[1]));
}

async fn plaintext_is_served_and_refreshed_where_it_is_allowed(backend: Backend) {
    let setup = Setup::default().var("ENCRYPTION__ALLOW_PLAINTEXT", true);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let victim = app.linked("u-victim").await;
    let attacker = plant_anothers_tokens(&app, &victim).await;

    let (status, body) = app.api_get("/api/v1/accounts/u-victim").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["access_token"], attacker.token.expose());

    let controls = app.fake.controls();
    controls.reset_counters();
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        (report.counts.refreshed, report.counts.unreadable),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(controls.refresh_grants_for(attacker.member_id.as_str()), 1);
}

/// A database as the version before this one left it: every migration up to the one that
/// records the rule for plaintext, run from a copy of those files (so sqlx records the same
/// checksums, and the service later applies only the rest).
async fn migrate_as_the_version_before(url: &str) {
    let dialect = match Dialect::of_url(url).unwrap() {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
    };
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let earlier = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: u32 = name[..4].parse().unwrap();
        if version < 10 {
            std::fs::copy(&path, earlier.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(earlier.path()).await.unwrap();
    match Dialect::of_url(url).unwrap() {
        Dialect::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
                .await
                .unwrap();
            migrator.run(&pool).await.unwrap();
        }
        Dialect::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
        }
        Dialect::MySql => {
            let pool = sqlx::MySqlPool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
        }
    }
}

/// An account written by the version before this one (whose writes were sealed too), through
/// a store that does not migrate the database.
async fn linked_by_the_version_before(url: &str, user_id: &str) -> Account {
    let store = SqlStore::connect(url, test_cipher()).await.unwrap();
    let tokens = TokenSet {
        access_token: AccessToken::new(format!("{user_id}-access")),
        token_expires_at: t0() + Duration::days(60),
        refresh_token: Some(RefreshToken::new(format!("{user_id}-refresh"))),
        refresh_token_expires_at: Some(t0() + Duration::days(365)),
        scope: "openid profile email w_member_social".into(),
    };
    let account = LinkedAccount::new(
        UserId::parse(user_id).unwrap(),
        MemberId::parse(&format!("{user_id}-member")).unwrap(),
        EmailAddress::parse(&format!("{user_id}@example.com")).unwrap(),
        None,
        tokens,
        t0(),
        &ExpiryPolicy::default(),
    );
    store.save_linked_account(&account).await.unwrap()
}

/// A database of the version before this one, holding `u-old` and `u-sealed`.
async fn earlier_database(backend: Backend) -> Option<(TestDatabase, Account, Account)> {
    let db = TestDatabase::create(backend).await?;
    migrate_as_the_version_before(&db.url).await;
    let old = linked_by_the_version_before(&db.url, "u-old").await;
    let sealed = linked_by_the_version_before(&db.url, "u-sealed").await;
    Some((db, old, sealed))
}

/// `tokenkeeper keys rotate` on the app's database, as the real binary.
async fn keys_rotate(app: &TestApp) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(["keys", "rotate"])
        .env_clear()
        .envs(app.process_env());
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

async fn an_upgraded_database_that_held_plaintext_reads_it_until_keys_rotate_seals_it(
    backend: Backend,
) {
    let Some((db, old, _)) = earlier_database(backend).await else {
        return;
    };
    // As a version before encryption stored it.
    let url = db.url.clone();
    let plain = "UPDATE social_network SET token = 'AQV-old-access', refresh_token = 'AQV-old-refresh' WHERE user_id = 'u-old'";
    assert_eq!(raw_sql::execute(&url, plain).await.unwrap(), 1);
    let mut setup = Setup::default();
    setup.fake.accept_unknown_refresh_tokens = true;
    let logs = LogCapture::start("warn", LogFormat::Human);
    let app = spawn_on(db, setup).await;
    // The service says at start that plaintext is read, and why.
    let logged = logs.text();
    assert!(
        logged.contains(&format!(
            "{PLAINTEXT_READ} (encryption.allow_plaintext is true, as this database recorded"
        )),
        "{logged}"
    );

    let (status, body) = app.api_get("/api/v1/accounts/u-old").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["access_token"], "AQV-old-access");

    let rotated = keys_rotate(&app).await;
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(stdout.contains("plaintext: 1 sealed, 0 left"), "{stdout}");
    assert!(
        stdout.contains("no plaintext is left: set encryption.allow_plaintext = false"),
        "{stdout}"
    );
    for (token, refresh) in raw_sql::token_columns(&url).await {
        assert!(token.starts_with("tk1:"), "{token}");
        assert!(refresh.unwrap().starts_with("tk1:"));
    }
    let (_, body) = app.api_get("/api/v1/accounts/u-old").await;
    assert_eq!(
        body["access_token"], "AQV-old-access",
        "sealed, the same token"
    );

    // Until the operator closes the rule, plaintext is still read and refreshed.
    plant(&app, old.id, "AQV-old-access-2", Some("AQV-old-refresh-2")).await;
    let (_, body) = app.api_get("/api/v1/accounts/u-old").await;
    assert_eq!(body["access_token"], "AQV-old-access-2");
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        (report.counts.refreshed, report.counts.unreadable),
        (2, 0),
        "{report:?}"
    );
    let calls = app.fake.controls().refresh_token_calls_by_token();
    assert_eq!(calls.get("AQV-old-refresh-2"), Some(&1), "{calls:?}");
}

async fn an_upgraded_database_that_held_no_plaintext_refuses_it(backend: Backend) {
    let Some((db, old, _)) = earlier_database(backend).await else {
        return;
    };
    let logs = LogCapture::start("warn", LogFormat::Human);
    let app = spawn_on(db, Setup::default()).await;
    assert!(!logs.text().contains(PLAINTEXT_READ), "{}", logs.text());
    let (status, _) = app.api_get("/api/v1/accounts/u-old").await;
    assert_eq!(status, StatusCode::OK, "sealed values are read");
    plant(&app, old.id, "AQV-planted", None).await;
    refused_read(&app, "u-old", old.id, &["AQV-planted"]).await;
}

async fn an_empty_stored_token_is_an_error_never_an_empty_token(backend: Backend) {
    // Even where plaintext is allowed.
    let setup = Setup::default().var("ENCRYPTION__ALLOW_PLAINTEXT", true);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let emptied = app.linked("u-emptied").await;
    let refresh = app.linked("u-empty-refresh").await;
    let sealed_token: String = raw_sql::rows::<(String,)>(
        app.config.database_url.expose(),
        &format!("SELECT token FROM social_network WHERE id = {}", refresh.id),
    )
    .await
    .remove(0)
    .0;
    plant(&app, emptied.id, "", None).await;
    plant(&app, refresh.id, &sealed_token, Some("")).await;

    let message = refused_read(&app, "u-emptied", emptied.id, &[]).await;
    assert!(
        message.contains("token: the stored value is empty"),
        "{message}"
    );
    let message = refused_read(&app, "u-empty-refresh", refresh.id, &[]).await;
    assert!(
        message.contains("refresh_token: the stored value is empty"),
        "{message}"
    );

    let controls = app.fake.controls();
    controls.reset_counters();
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        (report.counts.unreadable, report.counts.refreshed),
        (2, 0),
        "{report:?}"
    );
    assert_eq!(controls.refresh_grants(), 0);
}

async fn doctor_names_the_accounts_whose_tokens_do_not_open(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let diagnosis = tokenkeeper::doctor::examine(&app.config).await;
    let tokens = diagnosis.finding("tokens").expect("a tokens finding");
    assert_eq!(tokens.level, tokenkeeper::doctor::Level::Ok, "{diagnosis}");
    assert!(tokens.message.contains("plaintext refused"), "{diagnosis}");

    let victim = app.linked("u-victim").await;
    let emptied = app.linked("u-emptied").await;
    app.linked("u-fine").await;
    plant(&app, victim.id, "AQV-planted", Some("AQV-planted-refresh")).await;

    // Where plaintext is allowed, it is read, counted and warned about.
    let mut vars = app.process_env();
    vars.push((
        "TOKENKEEPER_ENCRYPTION__ALLOW_PLAINTEXT".into(),
        "true".into(),
    ));
    let accepting = tokenkeeper::config::Config::load_from(None, vars).unwrap();
    let diagnosis = tokenkeeper::doctor::examine(&accepting).await;
    let tokens = diagnosis.finding("tokens").unwrap();
    assert_eq!(
        tokens.level,
        tokenkeeper::doctor::Level::Warn,
        "{diagnosis}"
    );
    assert!(
        tokens.message.starts_with(
            "the tokens of 3 account(s) open, 1 of them plaintext; plaintext accepted (encryption.allow_plaintext true, as configured)"
        ),
        "{diagnosis}"
    );

    // Refused (this database's default), it is named; so are empty values, in either column.
    let sealed_token: String = raw_sql::rows::<(String,)>(
        app.config.database_url.expose(),
        &format!("SELECT token FROM social_network WHERE id = {}", emptied.id),
    )
    .await
    .remove(0)
    .0;
    plant(&app, emptied.id, &sealed_token, Some("")).await;
    let diagnosis = tokenkeeper::doctor::examine(&app.config).await;
    let tokens = diagnosis.finding("tokens").unwrap();
    assert_eq!(
        tokens.level,
        tokenkeeper::doctor::Level::Fail,
        "{diagnosis}"
    );
    let message = &tokens.message;
    assert!(message.starts_with("2 of 3 account(s)"), "{message}");
    assert!(
        message.contains(&format!(
            "account {} of user \"u-victim\": token:",
            victim.id
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "account {} of user \"u-emptied\": refresh_token: the stored value is empty",
            emptied.id
        )),
        "{message}"
    );
    assert!(!message.contains("AQV-planted"), "{message}");
    assert!(!diagnosis.healthy());
}
