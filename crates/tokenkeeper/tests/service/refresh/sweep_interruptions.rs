//! Sweeps that end abnormally: a refresh that panics (a bug) fails the run, and a shutdown
//! interrupts the sweep; either way every claim is released at once and the run row says so.

use crate::backend_tests;
use crate::refresh::hostile_linkedin::restricted;
use crate::support::metric_values::{metric_values, only};
use crate::support::panicking_store::{LateClaim, PanickingStore};
use crate::support::{spawn, t0, Setup};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use std::collections::BTreeMap;
use std::sync::Arc;
use test_databases::Backend;
use tokenkeeper::app::Application;
use tokenkeeper::domain::AccountStatus;
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::refresh::{RefreshEngine, SweepOptions, SweepOutcome};
use tokenkeeper::workers::Housekeeping;
use tokio_util::sync::CancellationToken;

backend_tests!(
    a_cancelled_sweep_is_interrupted_and_releases_claims,
    shutting_down_serve_interrupts_the_running_sweep,
    a_claim_in_flight_at_shutdown_is_released_too,
    a_failed_run_leaves_its_refusals_to_the_next_slot,
);

/// Well under LinkedIn's time-out here (60 s) and the lease: shutdown must not wait for
/// LinkedIn, nor for claims to lapse; generous for a loaded machine.
const PROMPTLY: std::time::Duration = std::time::Duration::from_secs(20);

backend_tests!(in_own_process: a_panicking_refresh_fails_the_run_and_releases_claims);
async fn a_panicking_refresh_fails_the_run_and_releases_claims(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__CONCURRENCY", 1)).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.linked("bo").await;
    let engine = RefreshEngine::new(
        PanickingStore {
            inner: app.store.clone(),
            panics_for: ada.id,
            late_claim: None,
            failing_token_writes: Default::default(),
        }
        .in_engine(&app.store),
        LinkedInClient::new(app.config.linkedin.clone()).unwrap(),
        app.clock.clone(),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&app.store, &app.config),
    );
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    let report = engine.sweep(SweepOptions::default()).await.unwrap();
    assert_eq!(report.outcome, SweepOutcome::Failed);
    assert!(report.error.unwrap().contains("panicked"));
    let runs = app.store.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].outcome, SweepOutcome::Failed);
    assert!(runs[0].finished_at.is_some());
    // Nothing was written for the account whose refresh panicked, and its claim is gone: a
    // sweep without the bug takes it (and anything the failed run left) right away.
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::Active);
    assert_eq!(after.expiration, ada.expiration);
    let report = app.sweep_at(day50).await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert!(report.counts.refreshed >= 1);
    for user in ["ada", "bo"] {
        assert_eq!(app.account(user).await.last_refreshed_at, Some(day50));
    }
    let metrics = metric_values(&app).await;
    assert_eq!(
        only(
            &metrics,
            &[
                "tokenkeeper_refresh_panics_total",
                "tokenkeeper_sweep_runs_total"
            ]
        ),
        BTreeMap::from([
            ("tokenkeeper_refresh_panics_total".to_owned(), 1.0),
            (
                "tokenkeeper_sweep_runs_total{outcome=\"completed\"}".to_owned(),
                1.0
            ),
            // Shown at zero from the start: the alert rules read it.
            (
                "tokenkeeper_sweep_runs_total{outcome=\"degraded\"}".to_owned(),
                0.0
            ),
            (
                "tokenkeeper_sweep_runs_total{outcome=\"failed\"}".to_owned(),
                1.0
            ),
        ])
    );
}

async fn a_cancelled_sweep_is_interrupted_and_releases_claims(backend: Backend) {
    // As below: LinkedIn must still be hanging when the sweep is cancelled.
    let hanging = Setup::default().var("LINKEDIN__TIMEOUT_SECONDS", 60);
    let Some(app) = spawn(backend, hanging).await else {
        return;
    };
    for user in ["ada", "bo", "cy"] {
        app.linked(user).await;
    }
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    let calls = app.fake.controls().calls(Endpoint::Token);
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Hang, None);
    let shutdown = CancellationToken::new();
    let engine = app.engine.clone().with_shutdown(shutdown.clone());
    let sweep = tokio::spawn(async move { engine.sweep(SweepOptions::default()).await });
    // Mid-flight: LinkedIn has the request and is not answering.
    app.fake
        .controls()
        .wait_for_calls(Endpoint::Token, calls + 1)
        .await;
    shutdown.cancel();
    let report = tokio::time::timeout(PROMPTLY, sweep)
        .await
        .expect("the sweep stops promptly")
        .unwrap()
        .unwrap();
    assert_eq!(report.outcome, SweepOutcome::Interrupted);
    let runs = app.store.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].outcome, SweepOutcome::Interrupted);
    assert!(runs[0].finished_at.is_some());
    app.fake.controls().clear_faults();
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.refreshed, 3);
}

async fn shutting_down_serve_interrupts_the_running_sweep(backend: Backend) {
    // LinkedIn hangs; the client must still be waiting when serve is stopped, however slowly
    // this machine gets there: a call that timed out first ends as a failure, which keeps its
    // claim for the lease by design, and the test would see that instead of the shutdown.
    let hanging = Setup::default().var("LINKEDIN__TIMEOUT_SECONDS", 60);
    let Some(app) = spawn(backend, hanging).await else {
        return;
    };
    for user in ["ada", "bo"] {
        app.linked(user).await;
    }
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    let calls = app.fake.controls().calls(Endpoint::Token);
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Hang, None);
    // A second instance with its scheduler on: at start it catches up the missed slot.
    let mut config = app.config.clone();
    config.schedule.enabled = true;
    let server = Application::build_with_store(config, app.store.clone(), app.clock.clone())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until_stopped(async {
        let _ = stopped.await;
    }));
    app.fake
        .controls()
        .wait_for_calls(Endpoint::Token, calls + 1)
        .await;
    stop.send(()).unwrap();
    tokio::time::timeout(PROMPTLY, serving)
        .await
        .expect("serve returns promptly")
        .unwrap()
        .unwrap();
    let runs = app.store.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].outcome, SweepOutcome::Interrupted);
    assert!(runs[0].slot.is_some());
    app.fake.controls().clear_faults();
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.refreshed, 2);
}

/// Shutdown finds the sweep's next claim in flight: the database may take the rows whatever
/// the caller does, so the sweep waits for the claim and releases what it took. (Dropping the
/// call instead left those rows claimed for the whole lease, unseen: the next sweep found
/// nothing due.)
async fn a_claim_in_flight_at_shutdown_is_released_too(backend: Backend) {
    let hanging = Setup::default().var("LINKEDIN__TIMEOUT_SECONDS", 60);
    let Some(app) = spawn(backend, hanging).await else {
        return;
    };
    for user in ["ada", "bo"] {
        app.linked(user).await;
    }
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Hang, None);
    let late = Arc::new(LateClaim::default());
    let shutdown = CancellationToken::new();
    let engine = RefreshEngine::new(
        PanickingStore {
            inner: app.store.clone(),
            // No account has id 0: nothing panics.
            panics_for: 0,
            late_claim: Some(late.clone()),
            failing_token_writes: Default::default(),
        }
        .in_engine(&app.store),
        LinkedInClient::new(app.config.linkedin.clone()).unwrap(),
        app.clock.clone(),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&app.store, &app.config),
    )
    .with_shutdown(shutdown.clone());
    let sweep = tokio::spawn(async move { engine.sweep(SweepOptions::default()).await });
    // Both accounts are with LinkedIn, and the claim after them waits for their release.
    late.wait_for(|seen| seen.claims_started == 2).await;
    shutdown.cancel();
    let report = tokio::time::timeout(PROMPTLY, sweep)
        .await
        .expect("the sweep stops promptly")
        .unwrap()
        .unwrap();
    assert_eq!(report.outcome, SweepOutcome::Interrupted);
    // The late claim has reached the database, whether or not the sweep still waited for it.
    late.wait_for(|seen| seen.claims_done == 2).await;
    app.fake.controls().clear_faults();
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.refreshed, 2, "{report:?}");
}

/// A member whose refresh LinkedIn refuses for the last allowed slot is asked to reconnect at
/// the end of a run that ended well; when the run failed (here a refresh panicked: a bug),
/// nothing about the run can be trusted, so the account is released and decided next slot.
async fn a_failed_run_leaves_its_refusals_to_the_next_slot(backend: Backend) {
    let setup = Setup::default()
        .var("REFRESH__CONCURRENCY", 1)
        .var("REFRESH__MAX_REJECTED_SLOTS", 1);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    // One worker takes them in order: the refusal is held before the panic fails the run.
    let cy = app.linked("cy").await;
    let ada = app.linked("ada").await;
    app.fake
        .controls()
        .inject_member_fault(cy.member_id.as_str(), restricted(), None);
    let engine = RefreshEngine::new(
        PanickingStore {
            inner: app.store.clone(),
            panics_for: ada.id,
            late_claim: None,
            failing_token_writes: Default::default(),
        }
        .in_engine(&app.store),
        LinkedInClient::new(app.config.linkedin.clone()).unwrap(),
        app.clock.clone(),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&app.store, &app.config),
    );
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    let report = engine.sweep(SweepOptions::default()).await.unwrap();
    assert_eq!(report.outcome, SweepOutcome::Failed, "{report:?}");
    assert_eq!(report.counts.needs_reconnect, 0, "{report:?}");
    // Both were released untouched and are counted so: the refusal and the panicked one.
    // On a loaded machine the next claim, already in flight, may take the panicked account
    // again once it is released; it is then released untouched again and counted again.
    assert!(report.counts.skipped >= 2, "{report:?}");
    assert_eq!(report.counts.skipped, report.counts.due, "{report:?}");
    assert_eq!(app.account("cy").await.status, AccountStatus::Active);

    // The next run, without the bug, ends well: the refusal now starts the episode.
    let report = app.sweep_at(day50).await;
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    assert_eq!(
        app.account("cy").await.status,
        AccountStatus::NeedsReconnect
    );
}
