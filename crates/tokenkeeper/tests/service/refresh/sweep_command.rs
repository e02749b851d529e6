//! `tokenkeeper sweep` from cron: its exit status is what the cron job and its alerting see,
//! so a sweep that could not do its work must exit non-zero. The built binary is run.

use crate::backend_tests;
use crate::support::{spawn_app, t0, TestApp};
use chrono::Duration;
use secrecy::ExposeSecret;
use std::process::Output;
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, SweepOutcome};

backend_tests!(
    sweep_exits_non_zero_when_linkedin_refuses_our_client,
    sweep_exits_non_zero_on_an_invalid_setting,
);

/// Runs `tokenkeeper sweep` at `as_of` against the app's database and fake LinkedIn, with
/// `extra` variables on top.
async fn sweep(
    app: &TestApp,
    as_of: chrono::DateTime<chrono::Utc>,
    extra: &[(&str, &str)],
) -> Output {
    let c = &app.config;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(["sweep", "--as-of", &as_of.to_rfc3339()])
        .env_clear()
        .env("TOKENKEEPER_DATABASE_URL", c.database_url.expose())
        .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", &c.linkedin.client_id)
        .env(
            "TOKENKEEPER_LINKEDIN__CLIENT_SECRET",
            c.linkedin.client_secret.expose_secret(),
        )
        .env(
            "TOKENKEEPER_LINKEDIN__TOKEN_URL",
            c.linkedin.token_url.as_str(),
        )
        .env(
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            c.connect.signing_key.expose_secret(),
        )
        .env("TOKENKEEPER_SCHEDULE__ENABLED", "false")
        .env(
            "TOKENKEEPER_ENCRYPTION__KEYS",
            crate::support::ENCRYPTION_KEYS,
        )
        .envs(extra.iter().map(|(k, v)| (format!("TOKENKEEPER_{k}"), *v)));
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

fn shown(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn sweep_exits_non_zero_when_linkedin_refuses_our_client(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    app.fake.controls().set_now(day50);

    let refused = sweep(
        &app,
        day50,
        &[("LINKEDIN__CLIENT_SECRET", "not-our-secret")],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
    assert!(
        shown(&refused).contains("misconfiguration"),
        "{}",
        shown(&refused)
    );
    assert!(!shown(&refused).contains("not-our-secret"));
    let untouched = app.account("ada").await;
    assert_eq!(untouched.status, AccountStatus::Active);
    assert_eq!(untouched.token.expose(), before.token.expose());
    assert_eq!(untouched.expiration, before.expiration);
    assert_eq!(untouched.last_refreshed_at, None);
    let runs = app.store.recent_runs(5).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].outcome, SweepOutcome::Failed);

    // The same sweep with our real secret succeeds, and says so with a zero status.
    let fixed = sweep(&app, day50, &[]).await;
    assert_eq!(fixed.status.code(), Some(0), "{}", shown(&fixed));
    assert_eq!(app.account("ada").await.last_refreshed_at, Some(day50));
}

async fn sweep_exits_non_zero_on_an_invalid_setting(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    let output = sweep(&app, day50, &[("REFRESH__CONCURRENCY", "0")]).await;
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    assert!(
        shown(&output).contains("refresh.concurrency"),
        "{}",
        shown(&output)
    );
    assert!(app.store.recent_runs(5).await.unwrap().is_empty());
    assert_eq!(app.account("ada").await.last_refreshed_at, None);
}
