//! Several sweeps over one database: no account refreshed twice, no update lost, and a
//! process killed mid-sweep leaves nothing stuck beyond its lease.

use crate::backend_tests;
use crate::support::{spawn, t0, Setup, TestApp};
use chrono::{Duration, Utc};
use fake_linkedin::{Endpoint, FakeConfig, Fault};
use std::sync::Arc;
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, Clock, ManualClock, SystemClock};
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::refresh::{EngineStores, RefreshEngine, SweepOptions, SweepOutcome};
use tokenkeeper::workers::Housekeeping;

backend_tests!(
    three_concurrent_sweeps_refresh_every_account_exactly_once,
    a_killed_sweep_leaves_nothing_stuck_beyond_its_lease,
);

fn lenient_fake() -> FakeConfig {
    FakeConfig {
        start_time: t0(),
        accept_unknown_refresh_tokens: true,
        ..FakeConfig::default()
    }
}

/// An engine with a database pool and an identity of its own, as another process would have,
/// on the wall clock (leases are wall-clock time).
async fn other_process(app: &TestApp) -> RefreshEngine {
    other_process_on(app, Arc::new(SystemClock)).await
}

/// Another process whose wall clock the test moves, to pass a lease without waiting it out.
async fn other_process_on(app: &TestApp, clock: Arc<dyn Clock>) -> RefreshEngine {
    let store = tokenkeeper::store::connect(
        app.config.database_url.expose(),
        app.config.encryption.cipher().unwrap(),
    )
    .await
    .unwrap();
    RefreshEngine::new(
        EngineStores::of(&store),
        LinkedInClient::new(app.config.linkedin.clone()).unwrap(),
        clock,
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&store, &app.config),
    )
}

async fn three_concurrent_sweeps_refresh_every_account_exactly_once(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup {
            fake: lenient_fake(),
            ..Setup::default()
        }
        .var("REFRESH__BATCH_SIZE", 25)
        .var("REFRESH__CONCURRENCY", 8),
    )
    .await
    else {
        return;
    };
    let seeded = app.seed(500, t0()).await;
    let day50 = t0() + Duration::days(50);
    app.fake.controls().set_now(day50);
    let engines = [
        other_process(&app).await,
        other_process(&app).await,
        other_process(&app).await,
    ];
    let options = || SweepOptions {
        as_of: Some(day50),
        ..SweepOptions::default()
    };
    let (a, b, c) = tokio::join!(
        engines[0].sweep(options()),
        engines[1].sweep(options()),
        engines[2].sweep(options())
    );
    let reports = [a.unwrap(), b.unwrap(), c.unwrap()];
    let refreshed: i64 = reports.iter().map(|r| r.counts.refreshed).sum();
    assert_eq!(refreshed, 500, "{reports:?}");
    // The work was shared, not done by one sweep while the others idled.
    assert!(
        reports.iter().filter(|r| r.counts.refreshed > 0).count() >= 2,
        "{reports:?}"
    );

    // LinkedIn's own counters: every refresh token was used exactly once.
    let per_token = app.fake.controls().refresh_token_calls_by_token();
    assert_eq!(per_token.len(), 500);
    assert!(
        per_token.values().all(|n| *n == 1),
        "a token was refreshed twice"
    );
    assert_eq!(app.fake.controls().refresh_grants(), 500);

    // And every write landed: each account holds the token LinkedIn issued last.
    for account in &seeded {
        let now = app.store.account_by_id(account.id).await.unwrap().unwrap();
        assert_eq!(now.status, AccountStatus::Active);
        assert_eq!(now.last_refreshed_at, Some(day50));
        assert!(app
            .fake
            .controls()
            .member_of_access_token(now.token.expose())
            .is_some());
        assert_eq!(now.expiration, day50 + Duration::days(50));
    }
}

async fn a_killed_sweep_leaves_nothing_stuck_beyond_its_lease(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup {
            fake: lenient_fake(),
            ..Setup::default()
        },
    )
    .await
    else {
        return;
    };
    app.seed(30, t0()).await;
    let day50 = t0() + Duration::days(50);
    app.fake.controls().set_now(day50);
    // Slow LinkedIn, so the process is surely mid-sweep when it dies.
    app.fake.controls().inject_fault(
        Endpoint::Token,
        Fault::Latency(std::time::Duration::from_millis(300)),
        None,
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"))
        .args(["sweep", "--as-of", &day50.to_rfc3339()])
        .env_clear()
        .envs(app.process_env())
        .env("TOKENKEEPER_REFRESH__CONCURRENCY", "2")
        .env("TOKENKEEPER_REFRESH__BATCH_SIZE", "10")
        .env("TOKENKEEPER_REFRESH__LEASE_SECONDS", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the tokenkeeper binary starts");
    let controls = app.fake.controls();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        controls.wait_for_calls(Endpoint::Token, 4),
    )
    .await
    .expect("the child calls LinkedIn");
    child.start_kill().unwrap(); // SIGKILL: no clean-up of any kind
    child.wait().await.unwrap();
    app.fake.controls().clear_faults();

    // The child's leases were taken on the real clock, before this one starts.
    let survivor_clock = Arc::new(ManualClock::new(Utc::now()));
    let survivor = other_process_on(&app, survivor_clock.clone()).await;
    let options = || SweepOptions {
        as_of: Some(day50),
        ..SweepOptions::default()
    };
    // Right away, the dead process's claims still hold: those accounts are left alone.
    let first = survivor.sweep(options()).await.unwrap();
    assert_eq!(first.outcome, SweepOutcome::Completed);
    let done_early = first.counts.refreshed;
    assert!(done_early < 30, "nothing was held by the dead process");
    // Once the lease has run out, nothing is stuck.
    survivor_clock.advance(Duration::seconds(3));
    let second = survivor.sweep(options()).await.unwrap();
    let all = app.store.list_accounts(0, 100).await.unwrap();
    assert!(
        all.iter()
            .all(|a| a.status == AccountStatus::Active && a.expiration > day50),
        "after the lease every account is refreshed: {first:?} {second:?}"
    );
    assert!(second.counts.refreshed > 0);
}
