//! Claims on accounts: a process whose claim expired can never write its outcome over the one
//! of the process that took the account over, and a failing account keeps its claim for its
//! lease, so an immediate second sweep does not call LinkedIn for it again.

use crate::backend_tests;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::{Endpoint, Fault};
use sqlx::Connection;
use test_databases::Backend;
use tokenkeeper::domain::{Account, AccountStatus};
use tokenkeeper::refresh::SweepOutcome;
use tokenkeeper::store::{Lease, RefreshWrite};

backend_tests!(
    an_expired_claim_cannot_mark_a_refreshed_account_for_reconnect,
    an_expired_claim_cannot_mark_a_refreshed_account_failing,
    a_failing_account_is_not_taken_again_within_its_lease,
    a_sweep_whose_claim_was_taken_over_discards_and_counts_its_result,
    a_write_back_the_database_refuses_fails_the_run_and_is_counted,
);
backend_tests!(only [Postgres, MySql]: a_claim_passes_over_rows_a_rival_holds_and_takes_the_next);

/// Claims `user_id` as a process named `holder` would at `now`, for ten minutes.
async fn claim_as(app: &TestApp, holder: &str, now: DateTime<Utc>, user_id: &str) -> Account {
    let lease = Lease {
        holder: holder.to_owned(),
        now,
        until: now + Duration::minutes(10),
    };
    let claimed = app.store.claim_due(now, &lease, 10).await.unwrap();
    claimed
        .accounts
        .into_iter()
        .find(|a| a.user_id.as_str() == user_id)
        .expect("the account is claimed")
}

/// The stale process claims the account at day 50 and stalls past its lease; the app's own
/// sweep, eleven minutes later, takes the account over and refreshes it at LinkedIn.
async fn taken_over_after_a_stale_claim(app: &TestApp) -> (Account, Account) {
    app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    let stale = claim_as(app, "stalled-process", day50, "ada").await;
    let report = app.sweep_at(day50 + Duration::minutes(11)).await;
    assert_eq!(report.counts.refreshed, 1, "{report:?}");
    let fresh = app.account("ada").await;
    assert_eq!(fresh.status, AccountStatus::Active);
    (stale, fresh)
}

async fn assert_untouched(app: &TestApp, fresh: &Account) {
    let now = app.account("ada").await;
    assert_eq!(now.status, AccountStatus::Active);
    assert_eq!(now.version, fresh.version);
    assert_eq!(now.token.expose(), fresh.token.expose());
    assert_eq!(now.refresh_attempts, 0);
    assert_eq!(now.last_error, None);
    assert!(
        app.store
            .notifications_for(now.id)
            .await
            .unwrap()
            .is_empty(),
        "the stale outcome queued emails"
    );
}

async fn an_expired_claim_cannot_mark_a_refreshed_account_for_reconnect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (stale, fresh) = taken_over_after_a_stale_claim(&app).await;
    // The stalled process finally hears that the grant was revoked (it was, for the old one).
    let at = stale.expiration;
    let write = RefreshWrite::NeedsReconnect {
        error: "revoked".into(),
        at,
        notifications: app.config.notify.on_permanent_failure(&stale, at),
    };
    let written = app
        .store
        .complete_refresh(&stale, &write, &[])
        .await
        .unwrap();
    assert!(!written, "an expired claim wrote its outcome");
    assert_untouched(&app, &fresh).await;
}

async fn an_expired_claim_cannot_mark_a_refreshed_account_failing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (stale, fresh) = taken_over_after_a_stale_claim(&app).await;
    // Close enough to the old token's death that a failure would email the member.
    let at = stale.token_expires_at - Duration::days(1);
    let notifications = app.config.notify.on_transient_failure(&stale, at);
    assert_eq!(notifications.len(), 1);
    let write = RefreshWrite::Failing {
        error: "LinkedIn answered 503".into(),
        at,
        notifications,
    };
    let written = app
        .store
        .complete_refresh(&stale, &write, &[])
        .await
        .unwrap();
    assert!(!written, "an expired claim wrote its outcome");
    assert_untouched(&app, &fresh).await;
}

async fn a_failing_account_is_not_taken_again_within_its_lease(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup::default()
            .var("REFRESH__MAX_ATTEMPTS", 1)
            .var("REFRESH__LEASE_SECONDS", 600),
    )
    .await
    else {
        return;
    };
    app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), None);
    let day50 = t0() + Duration::days(50);
    let first = app.sweep_at(day50).await;
    assert_eq!((first.counts.due, first.counts.failing), (1, 1));
    let calls = app.fake.controls().calls(Endpoint::Token);
    // A second sweep within the lease leaves it alone...
    let second = app.sweep_at(day50 + Duration::minutes(9)).await;
    assert_eq!(second.counts.due, 0, "{second:?}");
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
    // ...and once the lease has passed, it is tried again.
    app.fake.controls().clear_faults();
    let third = app.sweep_at(day50 + Duration::minutes(11)).await;
    assert_eq!((third.counts.due, third.counts.refreshed), (1, 1));
    assert_eq!(app.account("ada").await.status, AccountStatus::Active);
}

/// Links ada and starts a day-50 sweep whose refresh of her is at LinkedIn (which takes a
/// second over it: time enough to change the world under it) when this returns.
async fn sweep_with_ada_at_linkedin(
    app: &TestApp,
) -> (
    DateTime<Utc>,
    tokio::task::JoinHandle<
        Result<tokenkeeper::refresh::SweepReport, tokenkeeper::store::StoreError>,
    >,
) {
    app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    let controls = app.fake.controls();
    let calls = controls.calls(Endpoint::Token);
    controls.inject_fault(
        Endpoint::Token,
        Fault::Latency(std::time::Duration::from_secs(1)),
        Some(1),
    );
    let engine = app.engine.clone();
    let sweep = tokio::spawn(async move {
        engine
            .sweep(tokenkeeper::refresh::SweepOptions::default())
            .await
    });
    controls.wait_for_calls(Endpoint::Token, calls + 1).await;
    (day50, sweep)
}

/// The sweep's own view of the same race: its refresh is still at LinkedIn when its claim
/// lapses and another process takes the account; the result is discarded and the run's report
/// counts it as skipped, not refreshed.
async fn a_sweep_whose_claim_was_taken_over_discards_and_counts_its_result(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (day50, sweep) = sweep_with_ada_at_linkedin(&app).await;
    let other = claim_as(&app, "other-process", day50 + Duration::hours(2), "ada").await;
    let report = sweep.await.unwrap().unwrap();
    assert_eq!(
        (report.counts.refreshed, report.counts.skipped),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(app.account("ada").await.version, other.version);
}

/// The database refuses the write-back (here its audit table is gone, as a botched manual
/// change would leave it): the run fails, says why, and counts the account as skipped.
async fn a_write_back_the_database_refuses_fails_the_run_and_is_counted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, sweep) = sweep_with_ada_at_linkedin(&app).await;
    crate::support::raw_sql::execute(
        app.config.database_url.expose(),
        "ALTER TABLE refresh_log RENAME TO refresh_log_moved",
    )
    .await
    .unwrap();
    let report = sweep.await.unwrap().unwrap();
    assert_eq!(report.outcome, SweepOutcome::Failed, "{report:?}");
    assert_eq!(
        (report.counts.refreshed, report.counts.skipped),
        (0, 1),
        "{report:?}"
    );
    assert!(report.error.is_some_and(|e| e.contains("database error")));
}

/// Rows another transaction holds locked (a rival claimer mid-claim) are skipped, not waited
/// for, and the claim goes on to the next due rows. On MySQL the claim first reads four
/// candidates per account wanted without locking; when every one of them is held it must read
/// further along rather than give up with nothing while due accounts wait.
async fn a_claim_passes_over_rows_a_rival_holds_and_takes_the_next(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for n in 0..6 {
        app.linked(&format!("u-{n}")).await;
    }
    let due = t0() + Duration::days(51);
    let lease = Lease {
        holder: "claimer".to_owned(),
        now: due,
        until: due + Duration::minutes(10),
    };
    // Never panics while the rival holds its locks: a failure is told once they are let go.
    let claim = || async {
        let patience = std::time::Duration::from_secs(10);
        match tokio::time::timeout(patience, app.store.claim_due(due, &lease, 1)).await {
            Ok(claimed) => claimed
                .map(|batch| batch.accounts)
                .map_err(|e| format!("the claim failed: {e}")),
            Err(_) => Err("the claim waited for the held rows instead of skipping them".into()),
        }
    };
    let url = app.config.database_url.expose();
    // The four oldest due rows, each locked alone by its primary key: on MySQL a locking
    // read that scans (a sort, an IN list on a table this small) locks every row it examines.
    let oldest: Vec<i64> = crate::support::raw_sql::rows::<(i64,)>(
        url,
        "SELECT id FROM social_network ORDER BY expiration, id LIMIT 4",
    )
    .await
    .into_iter()
    .map(|(id,)| id)
    .collect();
    // The rival's transaction holds its locks while the claim runs, and is rolled back and
    // its connection closed before the test's database is dropped (which would wait for it).
    macro_rules! claim_while_a_rival_holds_four {
        ($connection:ty) => {{
            let mut rival = <$connection>::connect(url).await.unwrap();
            let mut holding = rival.begin().await.unwrap();
            let mut held = Vec::new();
            for id in &oldest {
                let lock = format!("SELECT id FROM social_network WHERE id = {id} FOR UPDATE");
                let id: i64 = sqlx::query_scalar(&lock)
                    .fetch_one(&mut *holding)
                    .await
                    .unwrap();
                held.push(id);
            }
            let claimed = claim().await;
            holding.rollback().await.unwrap();
            rival.close().await.unwrap();
            (held, claimed)
        }};
    }
    let (held, claimed) = match backend {
        Backend::MySql => claim_while_a_rival_holds_four!(sqlx::MySqlConnection),
        _ => claim_while_a_rival_holds_four!(sqlx::PgConnection),
    };
    let claimed = claimed.unwrap_or_else(|e: String| panic!("{e}"));
    assert_eq!(held.len(), 4);
    assert_eq!(
        claimed.len(),
        1,
        "one of the two free due accounts is claimed"
    );
    assert!(!held.contains(&claimed[0].id), "claimed a held row");
}
