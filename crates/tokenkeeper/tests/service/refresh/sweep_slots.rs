//! Which slots run: at start-up the latest slot is caught up unless some instance already ran
//! it, and a slot one instance has started is never run by another.

use crate::backend_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::{spawn_app, t0, TestApp};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::sync::Arc;
use test_databases::Backend;
use tokenkeeper::domain::Schedule;
use tokenkeeper::domain::{AccountStatus, SystemClock};
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::refresh::{EngineStores, RefreshEngine, SweepOptions, SweepOutcome};
use tokenkeeper::workers::{Housekeeping, Scheduler};
use tokio_util::sync::CancellationToken;

backend_tests!(
    start_up_catches_up_a_slot_missed_after_earlier_runs,
    start_up_runs_nothing_when_the_latest_slot_already_ran,
    a_second_instance_skips_a_slot_another_ran,
);

fn midnight() -> DateTime<Utc> {
    // The latest slot at or before t0 (08:00 UTC) with the default schedule.
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

/// Records a finished run for `slot`, as an instance that ran it would have.
async fn ran(app: &TestApp, slot: DateTime<Utc>) {
    let id = app
        .store
        .start_run(Some(slot), slot, slot)
        .await
        .unwrap()
        .expect("the slot was free");
    app.store
        .finish_run(id, slot, &Default::default(), SweepOutcome::Completed, None)
        .await
        .unwrap();
}

/// Starts the scheduler as `serve` does and stops it once its start-up is done: the shutdown
/// token is cancelled beforehand, so it returns instead of waiting for the next slot.
async fn start_up(app: &TestApp) {
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    let scheduler = Scheduler {
        schedule: Schedule::parse(&app.config.schedule.cron, app.config.schedule.timezone).unwrap(),
        engine: app.engine.clone(),
        store: app.store.clone(),
        clock: app.clock.clone(),
        tick: std::time::Duration::from_millis(20),
        shutdown,
        progress: Default::default(),
    };
    scheduler.run().await;
}

async fn slots_run(app: &TestApp) -> Vec<DateTime<Utc>> {
    let mut slots: Vec<_> = app
        .store
        .recent_runs(20)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.slot)
        .collect();
    slots.sort();
    slots
}

async fn start_up_catches_up_a_slot_missed_after_earlier_runs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Runs were recorded until noon the day before; the process was down at midnight.
    let noon_before = midnight() - Duration::hours(12);
    ran(&app, noon_before).await;
    app.linked("ada").await;
    // Fifty days later the account is due; the down process missed that day's midnight.
    let later_midnight = midnight() + Duration::days(50);
    app.at(later_midnight + Duration::hours(8));
    ran(&app, later_midnight - Duration::hours(12)).await;

    let logs = LogCapture::start("info", LogFormat::Human);
    start_up(&app).await;
    assert!(logs.text().contains("catching up a missed slot"));
    assert_eq!(
        slots_run(&app).await,
        [
            noon_before,
            later_midnight - Duration::hours(12),
            later_midnight
        ]
    );
    let account = app.account("ada").await;
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(
        account.last_refreshed_at,
        Some(later_midnight + Duration::hours(8))
    );
}

async fn start_up_runs_nothing_when_the_latest_slot_already_ran(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    let later_midnight = midnight() + Duration::days(50);
    app.at(later_midnight + Duration::hours(8));
    ran(&app, later_midnight).await;
    let calls = app.fake.controls().refresh_grants();

    let logs = LogCapture::start("info", LogFormat::Human);
    start_up(&app).await;
    assert_eq!(slots_run(&app).await, [later_midnight]);
    assert_eq!(app.fake.controls().refresh_grants(), calls);
    assert_eq!(app.account("ada").await.last_refreshed_at, None);
    // Not even tried: a lone instance restarting must not tell its operator that a missed
    // slot is being caught up, then that another instance runs it.
    let said = logs.text();
    assert!(!said.contains("catching up"), "{said}");
    assert!(!said.contains("another instance runs this slot"), "{said}");
}

async fn a_second_instance_skips_a_slot_another_ran(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    // The first slot after ada falls due at day 50 (21 April, 08:00).
    let slot = Utc.with_ymd_and_hms(2026, 4, 21, 12, 0, 0).unwrap();
    let options = || SweepOptions {
        as_of: Some(slot),
        slot: Some(slot),
        ..SweepOptions::default()
    };
    app.fake.controls().set_now(slot);
    let first = other_instance(&app).await.sweep(options()).await.unwrap();
    assert_eq!(first.outcome, SweepOutcome::Completed);
    assert_eq!(first.counts.refreshed, 1);

    // Another account falls due; a second instance, a little late for the same slot, must
    // leave it to the next one.
    app.at(t0());
    let bo = app.linked("bo").await;
    app.fake.controls().set_now(slot);
    let grants = app.fake.controls().refresh_grants();
    let late = other_instance(&app).await;
    let second = late
        .sweep(SweepOptions {
            as_of: Some(bo.expiration),
            ..options()
        })
        .await
        .unwrap();
    assert_eq!(second.outcome, SweepOutcome::SlotTaken);
    assert_eq!(second.run_id, None);
    assert_eq!(second.counts.due, 0);
    assert_eq!(app.fake.controls().refresh_grants(), grants);
    assert_eq!(app.account("bo").await.last_refreshed_at, None);
    assert_eq!(app.store.recent_runs(10).await.unwrap().len(), 1);
}

/// An engine with a database pool and an identity of its own, as another instance has.
async fn other_instance(app: &TestApp) -> RefreshEngine {
    let store = tokenkeeper::store::connect(
        app.config.database_url.expose(),
        app.config.encryption.cipher().unwrap(),
    )
    .await
    .unwrap();
    RefreshEngine::new(
        EngineStores::of(&store),
        LinkedInClient::new(app.config.linkedin.clone()).unwrap(),
        Arc::new(SystemClock),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&store, &app.config),
    )
}
