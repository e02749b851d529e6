//! The callback against a LinkedIn that glitches while the member waits: userinfo is retried
//! briefly (a new token may answer 401 for a few seconds, 5xx pass), the single-use code only
//! when no answer arrived, and an absurd answer is a clean error page, never a panic.

use crate::backend_tests;
use crate::refresh::hostile_linkedin::respond;
use crate::support::spawn_app;
use fake_linkedin::{Endpoint, Fault};
use reqwest::StatusCode;
use test_databases::Backend;

backend_tests!(
    userinfo_401_right_after_consent_is_retried,
    userinfo_5xx_is_retried,
    code_exchange_without_an_answer_is_retried,
    code_exchange_with_an_answer_is_never_retried,
    absurd_expires_in_at_the_callback_is_a_clean_error,
    huge_userinfo_body_is_a_clean_error,
);

async fn userinfo_401_right_after_consent_is_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // What LinkedIn answers for a few seconds after consent.
    let revoked = respond(
        401,
        &[("content-type", "application/json")],
        r#"{"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user","status":401}"#,
    );
    app.fake
        .controls()
        .inject_fault(Endpoint::Userinfo, revoked, Some(2));
    let response = app.connect("u-1", "u1@example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.account_count().await, 1);
    assert_eq!(app.fake.controls().calls(Endpoint::Userinfo), 3);
}

async fn userinfo_5xx_is_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake
        .controls()
        .inject_fault(Endpoint::Userinfo, Fault::Status(503), Some(1));
    app.fake
        .controls()
        .inject_fault(Endpoint::Userinfo, Fault::Disconnect, Some(1));
    let response = app.connect("u-2", "u2@example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.account_count().await, 1);
    assert_eq!(app.fake.controls().calls(Endpoint::Userinfo), 3);
}

async fn code_exchange_without_an_answer_is_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Disconnect, Some(1));
    let response = app.connect("u-3", "u3@example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.account_count().await, 1);
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 2);
}

async fn code_exchange_with_an_answer_is_never_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(500), Some(1));
    let response = app.connect("u-4", "u4@example.com").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(app.account_count().await, 0);
    // The code may have been used up by that answer: it is not sent twice.
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 1);
}

async fn absurd_expires_in_at_the_callback_is_a_clean_error(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let absurd = respond(
        200,
        &[("content-type", "application/json")],
        r#"{"access_token":"AQabsurd","expires_in":9223372036854775807,"scope":"openid,profile,email"}"#,
    );
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, absurd, Some(1));
    let response = app.connect("u-5", "u5@example.com").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Nothing was changed"), "{page}");
    assert!(!page.contains("AQabsurd"));
    assert_eq!(app.account_count().await, 0);
    // The service is still up and the member can try again.
    assert_eq!(
        app.connect("u-5", "u5@example.com").await.status(),
        StatusCode::OK
    );
}

async fn huge_userinfo_body_is_a_clean_error(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let huge = format!(
        r#"{{"sub":"abc123","name":"{}"}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    app.fake
        .controls()
        .inject_fault(Endpoint::Userinfo, respond(200, &[], &huge), Some(1));
    let response = app.connect("u-6", "u6@example.com").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(app.account_count().await, 0);
}
