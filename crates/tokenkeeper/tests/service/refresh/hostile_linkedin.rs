//! The refresh engine against a LinkedIn that answers oddly: one member's undocumented
//! refusal, absurd numbers, absurd Retry-After values, huge bodies. None of them may stop the
//! other accounts, panic a worker or park the sweep past its claims.

use crate::backend_tests;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp};
use chrono::Duration;
use fake_linkedin::{Endpoint, FakeConfig, Fault};
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, RefreshOutcome};
use tokenkeeper::refresh::SweepOutcome;

backend_tests!(
    one_restricted_member_does_not_hold_back_the_others,
    answers_about_our_client_still_stop_the_sweep,
    the_same_unknown_answer_for_many_accounts_is_ours,
    absurd_lifetimes_and_huge_bodies_fail_their_account_only,
    absurd_retry_after_never_panics_nor_parks_the_sweep,
    a_long_retry_after_ends_the_sweep_degraded_within_the_lease,
);

/// Any raw answer from LinkedIn.
pub fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Fault {
    Fault::Respond {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_owned(),
    }
}

pub fn restricted() -> Fault {
    respond(
        400,
        &[("content-type", "application/json")],
        r#"{"error":"invalid_request","error_description":"The member's account is restricted"}"#,
    )
}

fn lenient() -> Setup {
    Setup {
        fake: FakeConfig {
            start_time: t0(),
            accept_unknown_refresh_tokens: true,
            ..FakeConfig::default()
        },
        ..Setup::default()
    }
}

async fn one_restricted_member_does_not_hold_back_the_others(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    let bo = app.linked("bo").await;
    app.linked("cy").await;
    app.fake
        .controls()
        .inject_member_fault(bo.member_id.as_str(), restricted(), None);
    let day50 = t0() + Duration::days(50);

    let report = app.sweep_at(day50).await;
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    assert_eq!((report.counts.refreshed, report.counts.failing), (2, 1));
    for other in ["ada", "cy"] {
        let account = app.account(other).await;
        assert_eq!(account.status, AccountStatus::Active);
        assert_eq!(account.last_refreshed_at, Some(day50));
    }
    let failing = app.account("bo").await;
    assert_eq!(failing.status, AccountStatus::RefreshFailing);
    assert!(failing.last_error.unwrap().contains("restricted"));
    assert!(notification_kinds(&app, bo.id).await.is_empty());
    let log = app.store.refresh_log_for(bo.id).await.unwrap();
    assert_eq!(log.last().unwrap().outcome, RefreshOutcome::Rejected);
    assert_eq!(log.last().unwrap().http_status, Some(400));

    // Tried again at the next slot, still without bothering the member...
    let report = app.sweep_at(day50 + Duration::hours(12)).await;
    assert_eq!((report.counts.due, report.counts.failing), (1, 1));
    assert!(notification_kinds(&app, bo.id).await.is_empty());
    // ...until the third slot in a row: only the member can sort it out with LinkedIn.
    let report = app.sweep_at(day50 + Duration::hours(24)).await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(report.counts.needs_reconnect, 1);
    let after = app.account("bo").await;
    assert_eq!(after.status, AccountStatus::NeedsReconnect);
    assert!(after.last_error.unwrap().contains("3 consecutive slots"));
    // The refusal that started the episode stays the member's in the audit log.
    let log = app.store.refresh_log_for(bo.id).await.unwrap();
    assert_eq!(log.last().unwrap().outcome, RefreshOutcome::Rejected);
    assert_eq!(
        notification_kinds(&app, bo.id)
            .await
            .first()
            .map(String::as_str),
        Some("reconnect_required")
    );
}

async fn answers_about_our_client_still_stop_the_sweep(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let linked = app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    let ours = [
        respond(
            400,
            &[],
            r#"{"error":"invalid_request","error_description":"A required parameter \"client_id\" is missing"}"#,
        ),
        respond(
            401,
            &[],
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        ),
        respond(404, &[("content-type", "text/html")], "<h1>Not Found</h1>"),
        respond(405, &[], ""),
    ];
    for fault in ours {
        app.fake
            .controls()
            .inject_fault(Endpoint::Token, fault.clone(), None);
        let report = app.sweep_at(day50).await;
        assert_eq!(report.outcome, SweepOutcome::Failed, "{fault:?}");
        assert!(report.error.unwrap().contains("misconfiguration"));
        let after = app.account("ada").await;
        assert_eq!(after.status, AccountStatus::Active, "{fault:?}");
        assert_eq!(after.expiration, linked.expiration);
        app.fake.controls().clear_faults();
    }
    assert!(notification_kinds(&app, linked.id).await.is_empty());
    assert_eq!(app.sweep_at(day50).await.counts.refreshed, 1);
}

async fn the_same_unknown_answer_for_many_accounts_is_ours(backend: Backend) {
    let Some(app) = spawn(backend, lenient().var("REFRESH__CONCURRENCY", 1)).await else {
        return;
    };
    app.seed(8, t0()).await;
    let odd = respond(
        400,
        &[],
        r#"{"error":"invalid_scope","error_description":"Something we never documented"}"#,
    );
    app.fake.controls().inject_fault(Endpoint::Token, odd, None);
    let day50 = t0() + Duration::days(50);
    // Slot after slot: the run fails for the operator, and no member is ever emailed for it.
    for slot in 0..4 {
        let report = app.sweep_at(day50 + Duration::hours(12 * slot)).await;
        assert_eq!(report.outcome, SweepOutcome::Failed, "slot {slot}");
        assert!(report
            .error
            .unwrap()
            .contains("accounts got the same unexplained answer"));
        assert!(report.counts.failing <= 2, "{:?}", report.counts);
        assert_eq!(report.counts.needs_reconnect, 0);
    }
    assert!(app.store.notification_counts().await.unwrap().is_empty());
    let all = app.store.list_accounts(0, 100).await.unwrap();
    assert!(all
        .iter()
        .all(|a| a.status != AccountStatus::NeedsReconnect));

    app.fake.controls().clear_faults();
    let report = app.sweep_at(day50 + Duration::days(3)).await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(report.counts.refreshed, 8);
}

async fn absurd_lifetimes_and_huge_bodies_fail_their_account_only(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 2)).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let bo = app.linked("bo").await;
    let cy = app.linked("cy").await;
    let dee = app.linked("dee").await;
    let controls = app.fake.controls();
    controls.inject_member_fault(
        ada.member_id.as_str(),
        respond(
            200,
            &[],
            r#"{"access_token":"AQnew","expires_in":9223372036854775807,"refresh_token":"AQr","refresh_token_expires_in":31536059}"#,
        ),
        None,
    );
    controls.inject_member_fault(
        bo.member_id.as_str(),
        respond(
            200,
            &[],
            r#"{"access_token":"AQnew","expires_in":5184000,"refresh_token":"AQr","refresh_token_expires_in":-86400}"#,
        ),
        None,
    );
    // A well-formed answer padded to 10 MB: no body from LinkedIn is read whole.
    let padded = format!(
        r#"{{"access_token":"AQnew","expires_in":5184000,"padding":"{}"}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    controls.inject_member_fault(cy.member_id.as_str(), respond(200, &[], &padded), None);

    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    assert_eq!((report.counts.refreshed, report.counts.failing), (1, 3));
    for odd in [&ada, &bo, &cy] {
        let after = app.account(odd.user_id.as_str()).await;
        assert_eq!(
            after.status,
            AccountStatus::RefreshFailing,
            "{}",
            odd.user_id
        );
        assert_eq!(after.token.expose(), odd.token.expose());
    }
    assert_eq!(
        app.account("dee").await.last_refreshed_at,
        Some(t0() + Duration::days(50))
    );
    assert_ne!(app.account("dee").await.token.expose(), dee.token.expose());
    let runs = app.store.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].outcome, SweepOutcome::Completed);
}

async fn absurd_retry_after_never_panics_nor_parks_the_sweep(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let linked = app.linked("ada").await;
    let day50 = t0() + Duration::days(50);
    // LinkedIn asks for more than any sweep may wait: the sweep gives up at once, untouched.
    for huge in [
        "18446744073709551615",
        "99999999999999999999999",
        "3600",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        app.fake.controls().inject_fault(
            Endpoint::Token,
            respond(429, &[("retry-after", huge)], ""),
            Some(1),
        );
        let report = tokio::time::timeout(std::time::Duration::from_secs(5), app.sweep_at(day50))
            .await
            .unwrap_or_else(|_| panic!("Retry-After: {huge} parked the sweep"));
        assert_eq!(
            report.outcome,
            SweepOutcome::Degraded,
            "Retry-After: {huge}"
        );
        assert!(report.error.unwrap().contains("rate limiting"));
        let after = app.account("ada").await;
        assert_eq!(after.status, AccountStatus::Active, "Retry-After: {huge}");
        assert_eq!(after.expiration, linked.expiration);
    }
    // Nonsense is no Retry-After at all: our own short backoff, then success.
    app.fake.controls().inject_fault(
        Endpoint::Token,
        respond(429, &[("retry-after", "soon")], ""),
        Some(1),
    );
    let report = app.sweep_at(day50).await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(report.counts.refreshed, 1);
}

async fn a_long_retry_after_ends_the_sweep_degraded_within_the_lease(backend: Backend) {
    let Some(app) = spawn(
        backend,
        lenient()
            .var("REFRESH__LEASE_SECONDS", 3)
            .var("REFRESH__RETRY_MAX_TOTAL_SECONDS", 600)
            .var("REFRESH__CONCURRENCY", 4)
            .var("REFRESH__BATCH_SIZE", 5),
    )
    .await
    else {
        return;
    };
    let seeded = app.seed(20, t0()).await;
    app.fake.controls().inject_fault(
        Endpoint::Token,
        respond(429, &[("retry-after", "60")], ""),
        None,
    );
    let started = std::time::Instant::now();
    let day50 = t0() + Duration::days(50);
    let report = tokio::time::timeout(std::time::Duration::from_secs(45), app.sweep_at(day50))
        .await
        .expect("the sweep ends instead of waiting a minute");
    // Ended well before the minute LinkedIn asked for, and before any claim could lapse.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(report.outcome, SweepOutcome::Degraded);
    let all = app.store.list_accounts(0, 100).await.unwrap();
    for (before, after) in seeded.iter().zip(&all) {
        assert_eq!(after.status, AccountStatus::Active);
        assert_eq!(after.expiration, before.expiration);
    }
    // Every claim was released: a sweep right now, LinkedIn willing, takes all of them.
    app.fake.controls().clear_faults();
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.refreshed, 20);
}

pub async fn notification_kinds(app: &TestApp, account_id: i64) -> Vec<String> {
    app.store
        .notifications_for(account_id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind.to_string())
        .collect()
}
