//! Tokens at rest: what the database holds is ciphertext bound to its row and column, a value
//! that does not open is an error and never a token, and `keys rotate` moves every value onto
//! the active key while sweeps run.

use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::raw_sql;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp, API_KEY, ENCRYPTION_KEYS};
use crate::{backend_tests, service_tests};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use reqwest::StatusCode;
use std::sync::Arc;
use test_databases::Backend;
use tokenkeeper::crypto::{Keyring, TokenCipher};
use tokenkeeper::key_rotation::{rotate_all, RotationError, RotationSummary};
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::refresh::{EngineStores, RefreshEngine, SweepOptions};
use tokenkeeper::store::{self, Dialect, Store};
use tokenkeeper::workers::Housekeeping;

/// The key the rotation moves to; the spawned app's own key stays in the ring to open the rest.
const NEW_KEY: &str = "new-key-2:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

fn cipher(entries: &str) -> TokenCipher {
    TokenCipher::new(Keyring::parse(entries, None).unwrap())
}

/// A second store on the app's database, as a restarted instance with another keyring opens it.
async fn store_with(app: &TestApp, entries: &str) -> Arc<dyn Store> {
    let store = store::connect(app.config.database_url.expose(), cipher(entries))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

async fn rotate(store: &Arc<dyn Store>) -> Result<RotationSummary, RotationError> {
    let total = store.count_accounts().await.unwrap() as u64;
    rotate_all(&**store, 2, total).await
}

/// Every value of both token columns, as the database holds them.
async fn raw_tokens(app: &TestApp) -> Vec<(String, Option<String>)> {
    raw_sql::token_columns(app.config.database_url.expose()).await
}

/// Everything the database keeps on disk or would dump, as text.
async fn database_contents(app: &TestApp, backend: Backend) -> String {
    let url = app.config.database_url.expose();
    match Dialect::of_url(url).unwrap() {
        Dialect::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(content) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.extend(content);
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Dialect::Postgres => {
            let mut dump = raw_sql::pg_dump(url).await;
            // The raw columns too, in case pg_dump is not installed beside the server.
            for (token, refresh) in raw_tokens(app).await {
                dump.push_str(&token);
                dump.push_str(refresh.as_deref().unwrap_or(""));
            }
            dump
        }
        Dialect::MySql => {
            let _ = backend;
            raw_tokens(app)
                .await
                .into_iter()
                .map(|(token, refresh)| format!("{token}\n{}\n", refresh.unwrap_or_default()))
                .collect()
        }
    }
}

backend_tests!(no_token_the_fake_issued_is_found_in_the_database);
async fn no_token_the_fake_issued_is_found_in_the_database(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Every write of a token: a link, a relink (the upsert's update), a refresh.
    app.linked("u-1").await;
    app.linked("u-2").await;
    // A link of its own: one issued at the same instant would be the used one again.
    app.at(t0() + Duration::minutes(1));
    app.relinked("u-1").await;
    let report = app
        .sweep_at(t0() + Duration::days(50) + Duration::hours(1))
        .await;
    assert_eq!(report.counts.refreshed, 2, "{report:?}");

    let issued = app.fake.controls().issued_tokens();
    assert!(issued.len() >= 6, "{issued:?}");
    let contents = database_contents(&app, backend).await;
    for token in &issued {
        assert!(
            !contents.contains(token.as_str()),
            "a token the fake issued is stored in clear"
        );
    }
    for (token, refresh) in raw_tokens(&app).await {
        assert!(token.starts_with("tk1:test-key-1:"), "{token}");
        assert!(refresh.unwrap().starts_with("tk1:test-key-1:"));
    }
    // ...and what is stored opens to what LinkedIn issued.
    let account = app.account("u-2").await;
    assert!(issued.iter().any(|t| t == account.token.expose()));
}

backend_tests!(a_ciphertext_moved_to_another_row_fails_loudly_and_reaches_no_one);
async fn a_ciphertext_moved_to_another_row_fails_loudly_and_reaches_no_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let logs = LogCapture::start("error", LogFormat::Human);
    let victim = app.linked("u-victim").await;
    let other = app.linked("u-other").await;
    raw_sql::execute(
        app.config.database_url.expose(),
        &format!(
            "UPDATE social_network SET refresh_token = (SELECT refresh_token FROM (SELECT refresh_token FROM social_network WHERE id = {}) AS o) WHERE id = {}",
            other.id, victim.id
        ),
    )
    .await
    .unwrap();
    LogCapture::ask_call_sites_again();

    // Read through the store: an error naming the column, the account and the key, never an
    // empty token.
    let err = app
        .store
        .account_by_id(victim.id)
        .await
        .expect_err("a moved ciphertext does not open");
    let message = err.to_string();
    assert!(message.contains("refresh_token"), "{message}");
    assert!(message.contains(&victim.id.to_string()), "{message}");
    assert!(message.contains("test-key-1"), "{message}");

    // Through the API: an error, logged with the same words.
    let response = app
        .browser
        .get(app.url("/api/v1/accounts/u-victim"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "token_unreadable", "{body}");

    // The sweep refreshes the other account and sends nothing of the victim's to LinkedIn.
    app.fake.controls().reset_counters();
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.refreshed, 1, "{report:?}");
    assert_eq!(
        app.fake
            .controls()
            .refresh_grants_for(victim.member_id.as_str()),
        0
    );
    let logged = logs.text();
    assert!(logged.contains("refresh_token"), "{logged}");
    assert!(logged.contains("test-key-1"), "{logged}");
}

backend_tests!(rotation_while_a_sweep_runs_loses_no_refresh);
async fn rotation_while_a_sweep_runs_loses_no_refresh(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut linked = Vec::new();
    for i in 0..6 {
        linked.push(app.linked(&format!("u-{i}")).await);
    }
    // The instances now encrypt with the new key (step 2 of a rotation) and keep the old one.
    let rotated_store = store_with(&app, &format!("{NEW_KEY},{ENCRYPTION_KEYS}")).await;
    let engine = RefreshEngine::new(
        EngineStores::of(&rotated_store),
        LinkedInClient::new(app.config.linkedin.clone()).unwrap(),
        app.clock.clone(),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&rotated_store, &app.config),
    );
    let controls = app.fake.controls();
    controls.reset_counters();
    // LinkedIn answers slowly, so every refresh is in flight, its account claimed, while the
    // rotation rewrites the rows.
    controls.inject_fault(
        Endpoint::Token,
        Fault::Latency(std::time::Duration::from_millis(500)),
        None,
    );
    app.at(t0() + Duration::days(50));
    let sweep = tokio::spawn(async move { engine.sweep(SweepOptions::default()).await });
    controls.wait_for_calls(Endpoint::Token, 1).await;

    let summary = rotate(&rotated_store).await.unwrap();
    assert_eq!(
        summary.rotated + summary.changed_concurrently,
        6,
        "{summary:?}"
    );
    assert_eq!(summary.failed, 0, "{summary:?}");

    let report = sweep.await.unwrap().unwrap();
    assert_eq!(report.counts.refreshed, 6, "{report:?}");
    controls.clear_faults();

    // Every refresh was written: each account holds the token its refresh got, not the one it
    // was linked with.
    for before in &linked {
        let after = rotated_store
            .account_by_id(before.id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(after.token.expose(), before.token.expose());
        assert_eq!(
            controls
                .member_of_access_token(after.token.expose())
                .as_deref(),
            Some(before.member_id.as_str())
        );
        assert!(after.last_refreshed_at.is_some());
    }
    // A second run finds everything under the new key.
    let again = rotate(&rotated_store).await.unwrap();
    assert_eq!(
        again,
        RotationSummary {
            already_current: 6,
            ..RotationSummary::default()
        }
    );
    for (token, refresh) in raw_tokens(&app).await {
        assert!(token.starts_with("tk1:new-key-2:"), "{token}");
        assert!(refresh.unwrap().starts_with("tk1:new-key-2:"));
    }
}

backend_tests!(a_plaintext_row_of_an_earlier_version_is_read_and_rotated);
async fn a_plaintext_row_of_an_earlier_version_is_read_and_rotated(backend: Backend) {
    // Where plaintext is allowed (plaintext_tokens.rs: which databases allow it).
    let setup = Setup::default().var("ENCRYPTION__ALLOW_PLAINTEXT", true);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let account = app.linked("u-old").await;
    app.linked("u-new").await;
    raw_sql::execute(
        app.config.database_url.expose(),
        &format!(
            "UPDATE social_network SET token = 'AQVlegacy-access', refresh_token = 'AQVlegacy-refresh' WHERE id = {}",
            account.id
        ),
    )
    .await
    .unwrap();

    let read = app.account("u-old").await;
    assert_eq!(read.token.expose(), "AQVlegacy-access");
    assert_eq!(read.refresh_token.unwrap().expose(), "AQVlegacy-refresh");

    let summary = rotate(&app.store).await.unwrap();
    assert_eq!(
        (summary.rotated, summary.already_current),
        (1, 1),
        "{summary:?}"
    );
    assert_eq!(
        (summary.plaintext_sealed, summary.plaintext_left),
        (1, 0),
        "{summary:?}"
    );
    // The columns, not the file: a database keeps overwritten values in free pages and its
    // log until it reuses them (docs/operating.md, "Tokens at rest").
    let _ = backend;
    for (token, refresh) in raw_tokens(&app).await {
        assert!(token.starts_with("tk1:test-key-1:"), "{token}");
        assert!(refresh.unwrap().starts_with("tk1:test-key-1:"));
    }
    let read = app.account("u-old").await;
    assert_eq!(read.token.expose(), "AQVlegacy-access");
    assert_eq!(read.refresh_token.unwrap().expose(), "AQVlegacy-refresh");
}

backend_tests!(a_key_id_missing_from_the_keyring_stops_rotation_naming_it);
async fn a_key_id_missing_from_the_keyring_stops_rotation_naming_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.linked("u-1").await;
    // An operator removed the old key before the rotation moved the values off it.
    let output = keys_rotate(&app, NEW_KEY).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("\"test-key-1\""), "{stderr}");
    assert!(
        stderr.contains(&format!("account {}", account.id)),
        "{stderr}"
    );
    assert!(!stderr.contains("HxweHRw"), "no key is printed: {stderr}");
    let (token, _) = raw_tokens(&app).await.remove(0);
    assert!(token.starts_with("tk1:test-key-1:"), "left as it was");
}

backend_tests!(keys_rotate_prints_its_summary_and_a_second_run_finds_nothing_to_do);
async fn keys_rotate_prints_its_summary_and_a_second_run_finds_nothing_to_do(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for i in 0..3 {
        app.linked(&format!("u-{i}")).await;
    }
    let keys = format!("{NEW_KEY},{ENCRYPTION_KEYS}");
    let first = keys_rotate(&app, &keys).await;
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("rotated to key new-key-2: 3"), "{stdout}");
    assert!(stdout.contains("already current: 0"), "{stdout}");
    assert!(
        stdout.contains("skipped, changed concurrently: 0"),
        "{stdout}"
    );
    assert!(stdout.contains("failed: 0"), "{stdout}");
    let second = keys_rotate(&app, &keys).await;
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("rotated to key new-key-2: 0"), "{stdout}");
    assert!(stdout.contains("already current: 3"), "{stdout}");
}

/// `tokenkeeper keys rotate --batch 2` on the app's database with this keyring.
async fn keys_rotate(app: &TestApp, keys: &str) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(["keys", "rotate", "--batch", "2"])
        .env_clear()
        .envs(
            app.process_env()
                .into_iter()
                .filter(|(k, _)| k != "TOKENKEEPER_ENCRYPTION__KEYS"),
        )
        .env("TOKENKEEPER_ENCRYPTION__KEYS", keys);
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

service_tests!(keys_rotate_refuses_a_batch_of_zero);
async fn keys_rotate_refuses_a_batch_of_zero() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command.args(["keys", "rotate", "--batch", "0"]).env_clear();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--batch"));
}
