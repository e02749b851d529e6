//! The refresh engine against the fake LinkedIn: every outcome class, retries, rate limits,
//! the circuit breaker, and what a sweep leaves in the database.

use crate::backend_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::metric_values::{metric_values, only};
use crate::support::{spawn, spawn_app, t0, Setup};
use chrono::Duration;
use fake_linkedin::{Endpoint, FakeConfig, Fault, InvalidRefreshStyle};
use std::collections::BTreeMap;
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, RefreshOutcome};
use tokenkeeper::refresh::{SweepOptions, SweepOutcome};

backend_tests!(
    due_accounts_are_refreshed_at_day_fifty,
    nothing_is_due_before_expiration,
    missed_slots_are_caught_up,
    refresh_never_extends_the_refresh_token,
    revoked_member_needs_reconnect_with_notifications,
    invalid_request_style_is_permanent_too,
    account_without_refresh_token_needs_reconnect_without_calling_linkedin,
    transient_failure_is_retried_within_the_run,
    persistent_transient_failure_marks_failing_and_retries_next_slot,
    transient_failure_near_expiry_notifies,
    rate_limit_with_retry_after_is_honoured,
    rate_limit_without_retry_after_backs_off,
    misconfiguration_fails_the_run_and_notifies_nobody,
    circuit_breaker_ends_the_sweep_without_marking_accounts,
    dry_run_changes_nothing,
);

async fn due_accounts_are_refreshed_at_day_fifty(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    let report = app.sweep_at(day50).await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!((report.counts.due, report.counts.refreshed), (1, 1));

    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::Active);
    assert_ne!(after.token.expose(), before.token.expose());
    assert_eq!(after.token_expires_at, day50 + Duration::seconds(5_183_999));
    assert_eq!(after.expiration, day50 + Duration::days(50));
    assert_eq!(after.last_refreshed_at, Some(day50));
    assert_eq!(after.refresh_attempts, 0);
    assert_eq!(app.fake.controls().refresh_grants(), 1);
    // The new token works at LinkedIn.
    assert!(app
        .fake
        .controls()
        .member_of_access_token(after.token.expose())
        .is_some());
}

async fn nothing_is_due_before_expiration(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    let report = app.sweep_at(t0() + Duration::days(49)).await;
    assert_eq!(report.counts.due, 0);
    assert_eq!(app.fake.controls().refresh_grants(), 0);
}

async fn missed_slots_are_caught_up(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    // Nobody ran a sweep for a week after the account fell due.
    let report = app.sweep_at(t0() + Duration::days(57)).await;
    assert_eq!(report.counts.refreshed, 1);
    assert_eq!(app.account("ada").await.status, AccountStatus::Active);
}

async fn refresh_never_extends_the_refresh_token(backend: Backend) {
    // LinkedIn's clock stands still between the test's steps: the last token must end at the
    // refresh token's end to the second, however long this machine takes to link.
    let mut setup = Setup::default();
    setup.fake.clock_runs = false;
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let linked = app.linked("ada").await;
    let horizon = linked.refresh_token_expires_at.unwrap();
    // Refresh every time it is due, for a year: days 50, 100, ... 350.
    let mut now = t0();
    for _ in 0..7 {
        now = app.account("ada").await.expiration;
        let report = app.sweep_at(now).await;
        assert_eq!(report.counts.refreshed, 1, "at {now}");
        let account = app.account("ada").await;
        assert_eq!(account.refresh_token_expires_at, Some(horizon));
        assert!(account.expiration <= horizon);
        // LinkedIn states lifetimes in whole seconds counted on its own running clock, so the
        // last access token may end up to a second either side of the refresh token's end.
        assert!(account.token_expires_at <= horizon + Duration::seconds(1));
    }
    // The last token reaches the refresh token's end, so nothing is due before that end;
    // there, only reconnecting helps.
    let last = app.account("ada").await;
    assert!(now > t0() + Duration::days(300), "{now}");
    assert_eq!(last.expiration, horizon);
    assert_eq!(last.token_expires_at, horizon);
    let report = app.sweep_at(horizon).await;
    assert_eq!(report.counts.needs_reconnect, 1);
    assert_eq!(app.fake.controls().refresh_grants(), 7);
}

async fn revoked_member_needs_reconnect_with_notifications(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.linked("ada").await;
    app.fake
        .controls()
        .revoke_member(account.member_id.as_str());
    let day50 = t0() + Duration::days(50);
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.needs_reconnect, 1);
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::NeedsReconnect);
    assert!(after.last_error.as_deref().unwrap().contains("revoked"));
    let kinds = notification_kinds(&app, after.id).await;
    assert_eq!(kinds, ["reconnect_required", "expiry_reminder"]);
    // Not retried: a dead grant does not come back by asking again.
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 2);
    // And no longer due.
    assert_eq!(app.sweep_at(day50 + Duration::days(1)).await.counts.due, 0);
    // Once its access token has died without a reconnect, it is expired.
    app.sweep_at(after.token_expires_at).await;
    assert_eq!(app.account("ada").await.status, AccountStatus::Expired);
}

async fn invalid_request_style_is_permanent_too(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake
        .controls()
        .set_invalid_refresh_style(InvalidRefreshStyle::InvalidRequest);
    let account = app.linked("ada").await;
    app.fake
        .controls()
        .revoke_member(account.member_id.as_str());
    app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        app.account("ada").await.status,
        AccountStatus::NeedsReconnect
    );
}

async fn account_without_refresh_token_needs_reconnect_without_calling_linkedin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().set_partner(false);
    let account = app.linked("bo").await;
    let calls_after_linking = app.fake.controls().calls(Endpoint::Token);
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.needs_reconnect, 1);
    assert_eq!(
        app.fake.controls().calls(Endpoint::Token),
        calls_after_linking
    );
    assert_eq!(
        app.account("bo").await.status,
        AccountStatus::NeedsReconnect
    );
    assert_eq!(
        notification_kinds(&app, account.id).await,
        ["reconnect_due", "expiry_reminder"]
    );
}

async fn transient_failure_is_retried_within_the_run(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), Some(2));
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.refreshed, 1);
    assert_eq!(app.account("ada").await.status, AccountStatus::Active);
}

async fn persistent_transient_failure_marks_failing_and_retries_next_slot(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 3)).await else {
        return;
    };
    let before = app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(500), None);
    let day50 = t0() + Duration::days(50);
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.failing, 1);
    let failing = app.account("ada").await;
    assert_eq!(failing.status, AccountStatus::RefreshFailing);
    assert_eq!(failing.refresh_attempts, 1);
    assert_eq!(failing.expiration, before.expiration);
    // Far from the token's death: nobody is emailed for a failure that may pass.
    assert!(notification_kinds(&app, failing.id).await.is_empty());

    // LinkedIn recovers; the next slot refreshes it.
    app.fake.controls().clear_faults();
    let report = app.sweep_at(day50 + Duration::hours(12)).await;
    assert_eq!(report.counts.refreshed, 1);
    let recovered = app.account("ada").await;
    assert_eq!(recovered.status, AccountStatus::Active);
    assert_eq!(recovered.refresh_attempts, 0);
    assert!(recovered.last_error.is_none());
}

async fn transient_failure_near_expiry_notifies(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 1)).await else {
        return;
    };
    let account = app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(502), None);
    // Two days before the access token dies.
    let late = account.token_expires_at - Duration::days(2);
    let report = app.sweep_at(late).await;
    // Taken once: a failing account is not picked up again by the same sweep.
    assert_eq!((report.counts.due, report.counts.failing), (1, 1));
    assert_eq!(
        notification_kinds(&app, account.id).await,
        ["refresh_failing"]
    );
    // Failing again the next slot does not write a second one.
    app.sweep_at(late + Duration::hours(12)).await;
    assert_eq!(
        notification_kinds(&app, account.id).await,
        ["refresh_failing"]
    );
}

async fn rate_limit_with_retry_after_is_honoured(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    app.fake.controls().inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
        Some(1),
    );
    let started = std::time::Instant::now();
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.refreshed, 1);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "retried after {:?}, before Retry-After",
        started.elapsed()
    );
}

async fn rate_limit_without_retry_after_backs_off(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    app.linked("bo").await;
    app.fake.controls().inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests { retry_after: None },
        Some(2),
    );
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.refreshed, 2);
    let log = app
        .store
        .refresh_log_for(app.account("ada").await.id)
        .await
        .unwrap();
    let log_bo = app
        .store
        .refresh_log_for(app.account("bo").await.id)
        .await
        .unwrap();
    let throttled = log
        .iter()
        .chain(&log_bo)
        .filter(|e| e.http_status == Some(429))
        .count();
    assert_eq!(throttled, 2);
}

async fn misconfiguration_fails_the_run_and_notifies_nobody(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.linked("ada").await;
    // An engine whose client secret LinkedIn does not accept.
    let mut config = app.config.clone();
    config.linkedin.client_secret = "wrong-secret".to_owned().into();
    let engine = tokenkeeper::refresh::RefreshEngine::new(
        tokenkeeper::refresh::EngineStores::of(&app.store),
        tokenkeeper::linkedin::LinkedInClient::new(config.linkedin.clone()).unwrap(),
        app.clock.clone(),
        config.refresh.clone(),
        config.notify.clone(),
        tokenkeeper::workers::Housekeeping::of(&app.store, &config),
    );
    app.at(t0() + Duration::days(50));
    let logs = LogCapture::start("tokenkeeper=info", LogFormat::Human);
    let report = engine.sweep(SweepOptions::default()).await.unwrap();
    assert_eq!(report.outcome, SweepOutcome::Failed);
    assert!(report.error.unwrap().contains("misconfiguration"));
    // An operator's alerting reads the level: a failed run is an error, not a finished run.
    let text = logs.text();
    let line = text.lines().find(|l| l.contains("sweep failed"));
    assert!(line.is_some_and(|l| l.contains("ERROR")), "{text}");
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::Active);
    assert_eq!(after.expiration, account.expiration);
    assert!(notification_kinds(&app, account.id).await.is_empty());
    // Its claim was released: a corrected run refreshes it at once.
    assert_eq!(
        app.sweep_at(t0() + Duration::days(50))
            .await
            .counts
            .refreshed,
        1
    );
}

async fn circuit_breaker_ends_the_sweep_without_marking_accounts(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup {
            fake: FakeConfig {
                start_time: t0(),
                accept_unknown_refresh_tokens: true,
                ..FakeConfig::default()
            },
            ..Setup::default()
        }
        .var("REFRESH__BREAKER_WINDOW", 10)
        .var("REFRESH__MAX_ATTEMPTS", 1)
        .var("REFRESH__CONCURRENCY", 2)
        .var("REFRESH__BATCH_SIZE", 5),
    )
    .await
    else {
        return;
    };
    app.seed(60, t0()).await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), None);
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.outcome, SweepOutcome::Degraded);
    let calls = app.fake.controls().calls(Endpoint::Token);
    assert!(calls < 30, "the breaker let {calls} calls through");
    // Accounts the breaker stopped are untouched: still active, still due.
    let all = app.store.list_accounts(0, 100).await.unwrap();
    let failing = all
        .iter()
        .filter(|a| a.status == AccountStatus::RefreshFailing)
        .count();
    let active = all
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
        .count();
    assert_eq!(failing + active, 60);
    assert!(active >= 30, "only {active} left untouched");
    assert!(failing as u64 <= calls);
    app.fake.controls().clear_faults();
    let report = app
        .sweep_at(t0() + Duration::days(50) + Duration::hours(12))
        .await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(report.counts.refreshed, 60);
}

async fn dry_run_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = app.linked("ada").await;
    app.fake.controls().set_partner(false);
    app.linked("bo").await;
    app.at(t0() + Duration::days(50));
    let calls = app.fake.controls().calls(Endpoint::Token);
    let report = app
        .engine
        .sweep(SweepOptions {
            dry_run: true,
            ..SweepOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(report.outcome, SweepOutcome::DryRun);
    assert_eq!(report.counts.due, 2);
    assert_eq!(report.would_refresh.len(), 2);
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
    let after = app.account("ada").await;
    assert_eq!(after.version, a.version);
    assert!(app.store.recent_runs(10).await.unwrap().is_empty());
}

backend_tests!(in_own_process: every_attempt_is_audited);
async fn every_attempt_is_audited(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(500), Some(1));
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    let log = app.store.refresh_log_for(account.id).await.unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].outcome, RefreshOutcome::Transient);
    assert_eq!(log[0].http_status, Some(500));
    assert_eq!(log[0].attempt, 1);
    assert_eq!(log[1].outcome, RefreshOutcome::Refreshed);
    assert_eq!(log[1].attempt, 2);
    assert!(log.iter().all(|e| e.run_id == report.run_id));
    let runs = app.store.recent_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, SweepOutcome::Completed);
    assert_eq!(runs[0].counts.refreshed, 1);
    assert!(runs[0].finished_at.is_some());
    // Operators see it in the metrics too.
    let metrics = metric_values(&app).await;
    assert_eq!(
        only(
            &metrics,
            &[
                "tokenkeeper_refresh_results_total",
                "tokenkeeper_refresh_calls_total",
                "tokenkeeper_refresh_call_seconds_count",
                "tokenkeeper_sweep_runs_total",
            ]
        ),
        BTreeMap::from([
            ("tokenkeeper_refresh_call_seconds_count".to_owned(), 2.0),
            (
                "tokenkeeper_refresh_calls_total{outcome=\"refreshed\"}".to_owned(),
                1.0
            ),
            (
                "tokenkeeper_refresh_calls_total{outcome=\"transient\"}".to_owned(),
                1.0
            ),
            (
                "tokenkeeper_refresh_results_total{result=\"refreshed\"}".to_owned(),
                1.0
            ),
            (
                "tokenkeeper_sweep_runs_total{outcome=\"completed\"}".to_owned(),
                1.0
            ),
            // Shown at zero from the start: the alert rules read them.
            (
                "tokenkeeper_sweep_runs_total{outcome=\"degraded\"}".to_owned(),
                0.0
            ),
            (
                "tokenkeeper_sweep_runs_total{outcome=\"failed\"}".to_owned(),
                0.0
            ),
        ])
    );
}

async fn notification_kinds(app: &crate::support::TestApp, account_id: i64) -> Vec<String> {
    app.store
        .notifications_for(account_id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind.to_string())
        .collect()
}
