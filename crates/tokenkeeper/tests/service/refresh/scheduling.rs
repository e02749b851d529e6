//! The scheduler inside `serve`, under an injected clock: nothing sleeps for real hours.

use crate::backend_tests;
use crate::support::{spawn, t0, Setup};
use chrono::{Duration, TimeZone, Utc};
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;

backend_tests!(scheduled_sweep_fires_at_the_slot_and_catches_up_once);

async fn scheduled_sweep_fires_at_the_slot_and_catches_up_once(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup::default()
            .var("SCHEDULE__ENABLED", true)
            .var("SCHEDULE__POLL_MS", 20),
    )
    .await
    else {
        return;
    };
    // At start-up the latest slot (00:00 that day) had not run: it is caught up at once.
    let midnight = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    wait_for_slot(&app, midnight).await;
    let linked = app.linked("ada").await;

    // 50 days pass while the process waits (a suspended machine): at the next look the
    // scheduler runs the latest slot only, and that sweep refreshes the due account.
    let noon_day50 = Utc.with_ymd_and_hms(2026, 4, 21, 12, 0, 0).unwrap();
    assert!(noon_day50 > linked.expiration);
    app.at(noon_day50);
    wait_for_slot(&app, noon_day50).await;
    let account = app.account("ada").await;
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.last_refreshed_at, Some(noon_day50));

    // Exactly two runs: the start-up catch-up and the latest slot, none of the 99 between.
    let runs = app.store.recent_runs(10).await.unwrap();
    let slots: Vec<_> = runs.iter().filter_map(|r| r.slot).collect();
    assert_eq!(slots.len(), 2, "{slots:?}");
    assert!(slots.contains(&midnight) && slots.contains(&noon_day50));

    // Nothing runs before the next slot...
    app.at(noon_day50 + Duration::hours(11));
    // The scheduler reads the clock at each look (and at the start of a sweep it would run):
    // after several looks at 23:00, a premature run would have been recorded.
    let looked = app.clock.read_again(5);
    tokio::time::timeout(std::time::Duration::from_secs(5), looked)
        .await
        .expect("the scheduler keeps looking at the clock");
    assert_eq!(app.store.recent_runs(10).await.unwrap().len(), 2);
    // ...and the next slot runs once.
    app.at(noon_day50 + Duration::hours(12));
    wait_for_slot(&app, noon_day50 + Duration::hours(12)).await;
    // Each run started when its slot came: the catch-up at start-up, the others on time.
    let mut started: Vec<_> = app
        .store
        .recent_runs(10)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.slot, r.started_at))
        .collect();
    started.sort();
    let next_midnight = noon_day50 + Duration::hours(12);
    assert_eq!(
        started,
        [
            (Some(midnight), t0()),
            (Some(noon_day50), noon_day50),
            (Some(next_midnight), next_midnight),
        ]
    );
}

/// The scheduler inside `serve` tells of a finished slot only through the store, so the
/// store is polled, a few times a second and within a bound, until it shows the run.
async fn wait_for_slot(app: &crate::support::TestApp, slot: chrono::DateTime<Utc>) {
    for _ in 0..250 {
        let runs = app.store.recent_runs(20).await.unwrap();
        if runs
            .iter()
            .any(|r| r.slot == Some(slot) && r.finished_at.is_some())
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no finished run for slot {slot}");
}
