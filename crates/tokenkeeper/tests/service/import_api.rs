//! `POST /api/v1/accounts`: one account imported over HTTP, decided against what is stored,
//! its unknown expiry asked of LinkedIn (the fake, over HTTP).

use crate::backend_tests;
use crate::support::{spawn_app, t0, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::{Endpoint, SeededToken};
use reqwest::StatusCode;
use serde_json::{json, Value};
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{AccountStatus, NotificationStatus};

backend_tests!(
    an_imported_account_is_due_by_the_policy_of_a_new_link,
    importing_the_same_account_again_changes_nothing,
    newer_stored_tokens_are_kept_and_older_ones_replaced,
    an_unknown_expiry_is_asked_of_linkedin,
    a_revoked_token_is_imported_needing_reconnect_with_its_email,
    an_invalid_row_is_refused_with_its_reason_and_never_its_token,
    importing_needs_the_api_key,
);

async fn post(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let response = app
        .browser
        .post(app.url("/api/v1/accounts"))
        .bearer_auth(API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn row(user: &str, access: &str, linked_at: DateTime<Utc>) -> Value {
    json!({
        "user_id": user,
        "email": format!("{user}@example.com"),
        "member_id": format!("member-{user}"),
        "access_token": access,
        "refresh_token": format!("{access}-refresh"),
        "token_expires_at": (linked_at + Duration::days(60)).to_rfc3339(),
        "refresh_token_expires_at": (linked_at + Duration::days(365)).to_rfc3339(),
        "linked_at": linked_at.to_rfc3339(),
        "name": "Ada",
        "scope": "openid,w_member_social",
    })
}

fn seed(app: &TestApp, token: &str, member: &str, revoked: bool) {
    app.fake.controls().seed_access_token(
        token,
        SeededToken {
            member: member.into(),
            scope: vec!["openid".into(), "w_member_social".into()],
            authorized_at: t0() - Duration::days(20),
            expires_at: t0() + Duration::days(40),
            refresh: Some((format!("{token}-refresh"), t0() + Duration::days(345))),
            revoked,
        },
    );
}

async fn an_imported_account_is_due_by_the_policy_of_a_new_link(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-old", "member-u-old", false);
    let (status, body) = post(&app, &row("u-old", "AQ-old", t0() - Duration::days(55))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "active");
    let old = app.account("u-old").await;
    assert_eq!(old.expiration, t0() - Duration::days(5));
    assert_eq!(old.scope, "openid w_member_social");
    assert_eq!(old.name.as_deref(), Some("Ada"));

    let (status, _) = post(&app, &row("u-new", "AQ-new", t0() - Duration::days(1))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        app.account("u-new").await.expiration,
        t0() + Duration::days(49)
    );

    // The next sweep takes the account that was already due, and only it.
    let report = app.sweep_at(t0()).await;
    assert_eq!(report.counts.due, 1);
    assert_eq!(report.counts.refreshed, 1);
    let refreshed = app.account("u-old").await;
    assert_ne!(refreshed.token.expose(), "AQ-old");
    assert_eq!(refreshed.status, AccountStatus::Active);
}

async fn importing_the_same_account_again_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = row("u-1", "AQ-1", t0() - Duration::days(3));
    assert_eq!(post(&app, &body).await.0, StatusCode::CREATED);
    let first = app.account("u-1").await;
    app.at(t0() + Duration::hours(1));
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["access_token"], "AQ-1");
    let second = app.account("u-1").await;
    assert_eq!(second.version, first.version);
    assert_eq!(second.updated_at, first.updated_at);
    assert!(app
        .store
        .notifications_for(first.id)
        .await
        .unwrap()
        .is_empty());
}

async fn newer_stored_tokens_are_kept_and_older_ones_replaced(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let linked = app.linked("u-1").await;
    let mut older = row("u-1", "AQ-older", t0() - Duration::days(1));
    older["member_id"] = linked.member_id.as_str().into();
    let (status, body) = post(&app, &older).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "newer_tokens_kept");
    let kept = app.account("u-1").await;
    assert_eq!(kept.token, linked.token);
    assert_eq!(kept.version, linked.version);

    app.at(t0() + Duration::days(2));
    let mut newer = row("u-1", "AQ-newer", t0() + Duration::days(1));
    newer["member_id"] = linked.member_id.as_str().into();
    let (status, body) = post(&app, &newer).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let replaced = app.account("u-1").await;
    assert_eq!(replaced.token.expose(), "AQ-newer");
    assert_eq!(replaced.version, linked.version + 1);
    assert_eq!(replaced.linked_at, t0() + Duration::days(1));
}

async fn an_unknown_expiry_is_asked_of_linkedin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-seeded", "member-u-1", false);
    let body = json!({
        "user_id": "u-1",
        "email": "u-1@example.com",
        "member_id": "member-u-1",
        "access_token": "AQ-seeded",
    });
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(app.fake.controls().calls(Endpoint::Introspect), 1);
    let stored = app.account("u-1").await;
    assert_eq!(stored.token_expires_at, t0() + Duration::days(40));
    assert_eq!(stored.linked_at, t0() - Duration::days(20));
    assert_eq!(stored.scope, "openid w_member_social");
    assert_eq!(stored.expiration, t0() + Duration::days(30));

    // A row that gives its expiry is not asked about.
    assert_eq!(
        post(&app, &row("u-2", "AQ-2", t0())).await.0,
        StatusCode::CREATED
    );
    assert_eq!(app.fake.controls().calls(Endpoint::Introspect), 1);
}

async fn a_revoked_token_is_imported_needing_reconnect_with_its_email(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-revoked", "member-u-1", true);
    let body = json!({
        "user_id": "u-1",
        "email": "u-1@example.com",
        "member_id": "member-u-1",
        "access_token": "AQ-revoked",
        "refresh_token": "AQ-revoked-refresh",
    });
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["status"], "needs_reconnect");
    let stored = app.account("u-1").await;
    assert_eq!(stored.status, AccountStatus::NeedsReconnect);
    assert!(stored.last_error.unwrap().contains("revoked"));
    let emails = app.store.notifications_for(stored.id).await.unwrap();
    let kinds: Vec<&str> = emails.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["reconnect_required"], "{emails:?}");
    assert_eq!(emails[0].status, NotificationStatus::Pending);

    // The sweep leaves it to its member.
    let report = app.sweep_at(t0() + Duration::hours(1)).await;
    assert_eq!(report.counts.due, 0);
}

async fn an_invalid_row_is_refused_with_its_reason_and_never_its_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = row("u-1", "AQ-secret-token", t0());
    body["email"] = "not an email".into();
    body["linked_at"] = "2026-03-01".into();
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("email:") && message.contains("linked_at:"),
        "{message}"
    );
    assert!(!answer.to_string().contains("secret"), "{answer}");

    let mut typo = row("u-1", "AQ-secret-token", t0());
    typo["acces_token"] = "AQ-secret-token".into();
    let (status, answer) = post(&app, &typo).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["message"].as_str().unwrap().contains("acces_token"));
    assert!(!answer.to_string().contains("secret"), "{answer}");
    assert_eq!(app.account_count().await, 0);
}

async fn importing_needs_the_api_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app
        .browser
        .post(app.url("/api/v1/accounts"))
        .json(&row("u-1", "AQ-1", t0()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.account_count().await, 0);
}
