//! LinkedIn may leave the refresh token out of a refresh answer, or send it without its
//! lifetime. Either way the refresh token we hold stays, with its original end of life: a
//! refresh never extends it, and losing it would force every member to reconnect.

use crate::backend_tests;
use crate::refresh::hostile_linkedin::respond;
use crate::support::{spawn_app, t0};
use chrono::Duration;
use fake_linkedin::Endpoint;
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;

backend_tests!(
    an_answer_without_a_refresh_token_keeps_ours_and_its_end,
    a_refresh_token_without_its_lifetime_keeps_our_end,
    the_same_refresh_token_restated_a_few_seconds_off_keeps_our_end,
);

const JSON: (&str, &str) = ("content-type", "application/json");

async fn an_answer_without_a_refresh_token_keeps_ours_and_its_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let end = before.refresh_token_expires_at.unwrap();
    app.fake.controls().inject_fault(
        Endpoint::Token,
        respond(
            200,
            &[JSON],
            r#"{"access_token":"AQ-new-access","expires_in":5184000,"scope":"openid,profile"}"#,
        ),
        Some(1),
    );
    let day50 = t0() + Duration::days(50);
    let report = app.sweep_at(day50).await;
    assert_eq!(report.counts.refreshed, 1, "{report:?}");

    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::Active);
    assert_eq!(after.token.expose(), "AQ-new-access");
    assert_eq!(after.token_expires_at, day50 + Duration::days(60));
    assert_eq!(
        after.refresh_token.as_ref().map(|t| t.expose().to_owned()),
        before.refresh_token.as_ref().map(|t| t.expose().to_owned())
    );
    assert_eq!(after.refresh_token_expires_at, Some(end));
    assert_eq!(after.expiration, day50 + Duration::days(50));

    // The kept token still works at the next due date.
    let report = app.sweep_at(after.expiration).await;
    assert_eq!(report.counts.refreshed, 1, "{report:?}");
}

async fn a_refresh_token_without_its_lifetime_keeps_our_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let end = before.refresh_token_expires_at.unwrap();
    app.fake.controls().inject_fault(
        Endpoint::Token,
        respond(
            200,
            &[JSON],
            r#"{"access_token":"AQ-new-access","expires_in":5184000,"refresh_token":"AQ-new-refresh"}"#,
        ),
        Some(1),
    );
    let day50 = t0() + Duration::days(50);
    assert_eq!(app.sweep_at(day50).await.counts.refreshed, 1);
    let after = app.account("ada").await;
    assert_eq!(
        after.refresh_token.as_ref().map(|t| t.expose()),
        Some("AQ-new-refresh")
    );
    assert_eq!(after.refresh_token_expires_at, Some(end));
    assert_eq!(after.expiration, day50 + Duration::days(50));
}

async fn the_same_refresh_token_restated_a_few_seconds_off_keeps_our_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let end = before.refresh_token_expires_at.unwrap();
    let held = before.refresh_token.as_ref().unwrap().expose().to_owned();
    // LinkedIn counts the remaining life on its own clock, in whole seconds: the same token
    // comes back a little longer (which would extend it) or a little shorter.
    let mut due = t0() + Duration::days(50);
    for drift in [5, -3] {
        let seconds = (end - due).num_seconds() + drift;
        app.fake.controls().inject_fault(
            Endpoint::Token,
            respond(
                200,
                &[JSON],
                &format!(
                    r#"{{"access_token":"AQ-new-access","expires_in":5184000,"refresh_token":"{held}","refresh_token_expires_in":{seconds}}}"#
                ),
            ),
            Some(1),
        );
        assert_eq!(app.sweep_at(due).await.counts.refreshed, 1, "drift {drift}");
        let after = app.account("ada").await;
        assert_eq!(after.refresh_token_expires_at, Some(end), "drift {drift}");
        due = after.expiration;
    }
}
