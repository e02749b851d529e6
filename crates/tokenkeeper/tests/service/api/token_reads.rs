//! Reading a token, the API's hot path: the answer is the account as stored at that moment,
//! field for field, on every backend. Nothing between the database and the answer may keep a
//! copy (a cached row, a statement that serves what it read before), so a refresh, a
//! reconnect or a deletion shows in the very next read.

use crate::backend_tests;
use crate::support::{spawn_app, t0, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use test_databases::Backend;
use tokenkeeper::domain::Account;
use tokenkeeper::domain::EnumText;

backend_tests!(
    a_read_answers_the_account_as_stored,
    a_read_follows_every_change_at_once,
);

async fn read(app: &TestApp, user_id: &str) -> (StatusCode, Value) {
    app.api_get(&format!("/api/v1/accounts/{user_id}")).await
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().map(|text| text.parse().unwrap())
}

/// Every field of the read against the stored account, and no other field.
fn assert_read_is(body: &Value, stored: &Account) {
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "access_token",
            "email",
            "expiration",
            "has_refresh_token",
            "last_refreshed_at",
            "linked_at",
            "member_id",
            "provider",
            "refresh_token_expires_at",
            "scope",
            "status",
            "token_expires_at",
            "user_id",
        ]
    );
    assert_eq!(body["user_id"], stored.user_id.as_str());
    assert_eq!(body["provider"], stored.provider.as_str());
    assert_eq!(body["member_id"], stored.member_id.as_str());
    assert_eq!(body["email"], stored.email.as_str());
    assert_eq!(body["status"], stored.status.as_str());
    assert_eq!(body["access_token"], stored.token.expose());
    assert_eq!(body["has_refresh_token"], stored.refresh_token.is_some());
    assert_eq!(body["scope"], stored.scope.as_str());
    assert_eq!(
        time(&body["token_expires_at"]),
        Some(stored.token_expires_at)
    );
    assert_eq!(
        time(&body["refresh_token_expires_at"]),
        stored.refresh_token_expires_at
    );
    assert_eq!(time(&body["expiration"]), Some(stored.expiration));
    assert_eq!(time(&body["linked_at"]), Some(stored.linked_at));
    assert_eq!(time(&body["last_refreshed_at"]), stored.last_refreshed_at);
    // The refresh token stays with tokenkeeper.
    if let Some(refresh_token) = &stored.refresh_token {
        assert!(!body.to_string().contains(refresh_token.expose()));
    }
}

async fn a_read_answers_the_account_as_stored(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    assert!(ada.refresh_token.is_some());
    let (status, body) = read(&app, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_read_is(&body, &ada);

    // A member without a refresh token (LinkedIn grants them to partner apps only).
    app.fake.controls().set_partner(false);
    let bob = app.linked("bob").await;
    assert!(bob.refresh_token.is_none());
    let (status, body) = read(&app, "bob").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_read_is(&body, &bob);
}

async fn a_read_follows_every_change_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let linked = app.linked("ada").await;
    // Enough reads that every pooled connection that serves one has read the row before.
    for _ in 0..40 {
        let (status, body) = read(&app, "ada").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["access_token"], linked.token.expose());
    }

    app.at(t0() + Duration::days(3));
    let answer = app
        .browser
        .post(app.url("/api/v1/accounts/ada/refresh"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let refreshed = app.account("ada").await;
    assert_ne!(refreshed.token.expose(), linked.token.expose());
    let (_, body) = read(&app, "ada").await;
    assert_read_is(&body, &refreshed);
    assert_eq!(
        time(&body["last_refreshed_at"]),
        Some(t0() + Duration::days(3))
    );

    let relinked = app.relinked("ada").await;
    assert_ne!(relinked.token.expose(), refreshed.token.expose());
    let (_, body) = read(&app, "ada").await;
    assert_read_is(&body, &relinked);

    let answer = app
        .browser
        .delete(app.url("/api/v1/accounts/ada"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let (status, body) = read(&app, "ada").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}
