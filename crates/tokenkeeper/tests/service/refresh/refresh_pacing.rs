//! How fast a sweep calls LinkedIn: the per-process rate, the pause every worker keeps after a
//! 429, and the total time one account may be retried. Times are measured between calls the
//! fake LinkedIn receives, with its call signal; nothing here sleeps to wait.

use crate::backend_tests;
use crate::support::{spawn, t0, Setup, TestApp};
use chrono::Duration;
use fake_linkedin::{Endpoint, FakeConfig, Fault};
use std::time::{Duration as StdDuration, Instant};
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;
use tokenkeeper::domain::EnumText;
use tokenkeeper::refresh::{SweepOptions, SweepOutcome, SweepReport};

backend_tests!(
    a_429_pauses_every_worker,
    calls_keep_to_the_rate_per_second,
    retries_stop_at_the_total_budget,
    retries_stop_at_max_attempts,
    a_429_to_a_refresh_on_demand_holds_the_sweep_as_long_as_linkedin_asks,
);

/// Starts a sweep at `t` in the background, so the test can watch LinkedIn's calls meanwhile.
fn sweep_in_background(
    app: &TestApp,
    t: chrono::DateTime<chrono::Utc>,
) -> tokio::task::JoinHandle<SweepReport> {
    app.at(t);
    let engine = app.engine.clone();
    tokio::spawn(async move { engine.sweep(SweepOptions::default()).await.unwrap() })
}

/// Waits (on the fake's signal) until LinkedIn's token endpoint has had `count` calls.
async fn token_calls(app: &TestApp, count: u64) -> Instant {
    tokio::time::timeout(
        StdDuration::from_secs(20),
        app.fake.controls().wait_for_calls(Endpoint::Token, count),
    )
    .await
    .unwrap_or_else(|_| panic!("LinkedIn never got {count} token calls"));
    Instant::now()
}

async fn a_429_pauses_every_worker(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup::default()
            .var("REFRESH__CONCURRENCY", 2)
            // bo retries its 503 after 200 to 400 ms: well after ada's 429 has arrived.
            .var("REFRESH__RETRY_INITIAL_MS", 200),
    )
    .await
    else {
        return;
    };
    let ada = app.linked("ada").await;
    let bo = app.linked("bo").await;
    let controls = app.fake.controls();
    controls.inject_member_fault(
        ada.member_id.as_str(),
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
        Some(1),
    );
    controls.inject_member_fault(bo.member_id.as_str(), Fault::Status(503), Some(1));
    let before = controls.calls(Endpoint::Token);

    let sweep = sweep_in_background(&app, t0() + Duration::days(50));
    // Both workers' first calls: ada is throttled for a second, bo gets a 503.
    let throttled = token_calls(&app, before + 2).await;
    // bo's own backoff is over long before that second; it must still wait for it.
    let next = token_calls(&app, before + 3).await;
    let report = sweep.await.unwrap();
    assert_eq!(report.counts.refreshed, 2, "{report:?}");
    assert!(
        next - throttled >= StdDuration::from_millis(900),
        "a worker called LinkedIn {:?} after a 429 asked everyone to wait 1s",
        next - throttled
    );
    let log = app.store.refresh_log_for(bo.id).await.unwrap();
    let outcomes: Vec<_> = log.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["transient", "refreshed"]);
}

async fn calls_keep_to_the_rate_per_second(backend: Backend) {
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
        .var("REFRESH__RATE_PER_SECOND", 10)
        .var("REFRESH__CONCURRENCY", 8),
    )
    .await
    else {
        return;
    };
    app.seed(20, t0()).await;
    let started = Instant::now();
    let sweep = sweep_in_background(&app, t0() + Duration::days(50));
    // A burst of one second's worth, then one call every 100 ms: the 20th call cannot come
    // sooner than a second after the first, however fast LinkedIn answers.
    let twentieth = token_calls(&app, 20).await;
    let report = sweep.await.unwrap();
    assert_eq!(report.counts.refreshed, 20, "{report:?}");
    assert!(
        twentieth - started >= StdDuration::from_millis(950),
        "20 calls took {:?}, faster than 10 per second",
        twentieth - started
    );
}

async fn retries_stop_at_the_total_budget(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup::default()
            .var("REFRESH__MAX_ATTEMPTS", 20)
            .var("REFRESH__RETRY_INITIAL_MS", 100)
            .var("REFRESH__RETRY_MAX_TOTAL_SECONDS", 1),
    )
    .await
    else {
        return;
    };
    let ada = app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), None);
    let report = tokio::time::timeout(
        StdDuration::from_secs(15),
        app.sweep_at(t0() + Duration::days(50)),
    )
    .await
    .expect("retries ended within refresh.retry_max_total_seconds");
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(report.counts.failing, 1);
    assert_eq!(
        app.account("ada").await.status,
        AccountStatus::RefreshFailing
    );
    // 100 ms doubling (with jitter) fits 2 to 5 tries in one second, far from 20.
    let tries = app.store.refresh_log_for(ada.id).await.unwrap().len();
    assert!((2..=6).contains(&tries), "{tries} tries within a 1s budget");
}

async fn retries_stop_at_max_attempts(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 3)).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), None);
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.failing, 1);
    let log = app.store.refresh_log_for(ada.id).await.unwrap();
    let attempts: Vec<_> = log
        .iter()
        .map(|e| (e.attempt, e.outcome.as_str()))
        .collect();
    assert_eq!(
        attempts,
        [(1, "transient"), (2, "transient"), (3, "transient")]
    );
}

/// A refresh the host app asks for is called once, never retried, but shares the process's
/// pacing: LinkedIn's 429 to it, with the pause LinkedIn asks for, holds the sweep back for
/// that whole pause, not for the sweep's own first backoff (a second by default).
async fn a_429_to_a_refresh_on_demand_holds_the_sweep_as_long_as_linkedin_asks(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default()).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.linked("bo").await;
    let controls = app.fake.controls();
    controls.inject_member_fault(
        ada.member_id.as_str(),
        Fault::TooManyRequests {
            retry_after: Some(3),
        },
        Some(1),
    );
    let before = controls.calls(Endpoint::Token);

    let request = app.api_request(reqwest::Method::POST, "/api/v1/accounts/ada/refresh");
    let ((status, body), throttled) = tokio::join!(request, token_calls(&app, before + 1));
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{body}");

    let sweep = sweep_in_background(&app, t0() + Duration::days(50));
    let next = token_calls(&app, before + 2).await;
    let report = sweep.await.unwrap();
    assert_eq!(report.counts.refreshed, 2, "{report:?}");
    assert!(
        next - throttled >= StdDuration::from_millis(2500),
        "the sweep called LinkedIn {:?} after a 429 asked the app to wait 3s",
        next - throttled
    );
}
