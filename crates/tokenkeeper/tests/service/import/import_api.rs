//! `POST /api/v1/accounts`: one account imported over HTTP, decided against what is stored,
//! its unknown expiry asked of LinkedIn (the fake, over HTTP).

use crate::backend_tests;
use crate::support::{spawn_app, t0, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::{Endpoint, Fault, SeededToken};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{AccountMember, AccountStatus, NotificationStatus};

backend_tests!(
    an_imported_account_is_due_by_the_policy_of_a_new_link,
    importing_the_same_account_again_changes_nothing,
    newer_stored_tokens_are_kept_and_older_ones_replaced,
    an_unknown_expiry_is_asked_of_linkedin,
    a_revoked_token_is_imported_needing_reconnect_with_its_email,
    an_invalid_row_is_refused_with_its_reason_and_never_its_token,
    importing_needs_the_api_key,
    a_row_without_member_id_gets_the_member_userinfo_names,
    a_token_userinfo_refuses_is_refused_or_kept_for_its_member_to_reconnect,
    the_member_lookup_waits_out_a_429_with_everyone_else,
    a_replaced_account_keeps_its_member_when_the_row_cannot_tell,
    a_token_userinfo_will_not_describe_is_refused_and_a_failing_userinfo_is_a_502,
    a_token_introspection_will_not_describe_is_refused_and_a_failing_one_is_a_502,
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

/// A row that leaves the member out (and gives its expiry, so only userinfo is asked).
fn row_without_member(user: &str, access: &str, refresh: Option<&str>) -> Value {
    let mut body = json!({
        "user_id": user,
        "email": format!("{user}@example.com"),
        "access_token": access,
        "token_expires_at": (t0() + Duration::days(30)).to_rfc3339(),
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    body
}

async fn a_row_without_member_id_gets_the_member_userinfo_names(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-seeded", "sub-from-linkedin", false);
    let (status, answer) = post(&app, &row_without_member("u-1", "AQ-seeded", None)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["member_id"], "sub-from-linkedin");
    assert_eq!(answer["status"], "active");
    assert_eq!(app.fake.controls().calls(Endpoint::Userinfo), 1);
    assert_eq!(app.fake.controls().calls(Endpoint::Introspect), 0);
    let stored = app.account("u-1").await;
    assert_eq!(stored.member_id.as_str(), "sub-from-linkedin");

    // A row that names its member is not asked about.
    assert_eq!(
        post(&app, &row("u-2", "AQ-2", t0())).await.0,
        StatusCode::CREATED
    );
    assert_eq!(app.fake.controls().calls(Endpoint::Userinfo), 1);
}

async fn a_token_userinfo_refuses_is_refused_or_kept_for_its_member_to_reconnect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-secret-revoked", "sub-revoked", true);
    // Nothing to keep: refused, nothing stored, no token echoed.
    let (status, answer) = post(&app, &row_without_member("u-1", "AQ-secret-revoked", None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("member_id: not given, and LinkedIn refuses the access token"),
        "{message}"
    );
    assert!(!answer.to_string().contains("secret"), "{answer}");
    assert_eq!(app.account_count().await, 0);

    // A refresh token that still lives is kept; its member is asked to reconnect.
    let body = row_without_member("u-1", "AQ-secret-revoked", Some("AQ-secret-refresh"));
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["status"], "needs_reconnect");
    assert_eq!(answer["member_id"], Value::Null);
    let stored = app.account("u-1").await;
    assert_eq!(stored.member_id, AccountMember::NotKnownYet);
    assert!(stored.last_error.unwrap().contains("no member_id"));
    let emails = app.store.notifications_for(stored.id).await.unwrap();
    let kinds: Vec<&str> = emails.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["reconnect_required"], "{emails:?}");
    let (_, listed) = app.api_get("/api/v1/accounts").await;
    assert_eq!(listed["accounts"][0]["member_id"], Value::Null, "{listed}");

    // The member's connection tells who it is.
    let linked = app.linked("u-1").await;
    assert_eq!(linked.status, AccountStatus::Active);
    let member = linked.member_id.known().expect("the member is known now");
    assert!(app
        .fake
        .controls()
        .members()
        .iter()
        .any(|m| m.sub == member.as_str()));
}

async fn the_member_lookup_waits_out_a_429_with_everyone_else(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-seeded", "sub-from-linkedin", false);
    let controls = app.fake.controls();
    controls.inject_fault(
        Endpoint::Userinfo,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
        Some(1),
    );
    let bound = std::time::Duration::from_secs(30);
    let body = row_without_member("u-1", "AQ-seeded", None);
    let importing = post(&app, &body);
    let throttled = async {
        tokio::time::timeout(bound, controls.wait_for_calls(Endpoint::Userinfo, 1))
            .await
            .expect("a first userinfo call");
        Instant::now()
    };
    let ((status, answer), throttled) = tokio::join!(importing, throttled);
    let answered = Instant::now();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["member_id"], "sub-from-linkedin");
    assert_eq!(controls.calls(Endpoint::Userinfo), 2);
    assert!(
        answered - throttled >= std::time::Duration::from_millis(900),
        "asked again {:?} after a 429 asked for a second",
        answered - throttled
    );

    // The pause is everyone's: after a 429 to a refresh, a lookup waits for its end too.
    let ada = app.linked("ada").await;
    controls.inject_member_fault(
        ada.member_id.as_str(),
        Fault::TooManyRequests {
            retry_after: Some(2),
        },
        Some(1),
    );
    let before = controls.calls(Endpoint::Token);
    let refreshing = app.api_request(reqwest::Method::POST, "/api/v1/accounts/ada/refresh");
    let throttled = async {
        tokio::time::timeout(bound, controls.wait_for_calls(Endpoint::Token, before + 1))
            .await
            .expect("the throttled refresh");
        Instant::now()
    };
    let ((status, body), throttled) = tokio::join!(refreshing, throttled);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let asked = controls.calls(Endpoint::Userinfo);
    let body = row_without_member("u-2", "AQ-seeded", None);
    let importing = post(&app, &body);
    let looked_up = async {
        tokio::time::timeout(
            bound,
            controls.wait_for_calls(Endpoint::Userinfo, asked + 1),
        )
        .await
        .expect("the lookup");
        Instant::now()
    };
    let ((status, answer), looked_up) = tokio::join!(importing, looked_up);
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(
        looked_up - throttled >= std::time::Duration::from_millis(1800),
        "a lookup called LinkedIn {:?} after a 429 asked everyone to wait 2s",
        looked_up - throttled
    );
}

async fn a_replaced_account_keeps_its_member_when_the_row_cannot_tell(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let linked = app.linked("u-1").await;
    seed(&app, "AQ-secret-revoked", "sub-revoked", true);
    app.at(t0() + Duration::hours(1));
    let body = row_without_member("u-1", "AQ-secret-revoked", Some("AQ-secret-refresh"));
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["status"], "needs_reconnect");
    assert_eq!(answer["member_id"], linked.member_id.as_str());
    let stored = app.account("u-1").await;
    assert_eq!(stored.member_id, linked.member_id);
    assert_eq!(stored.version, linked.version + 1);
}

async fn a_token_userinfo_will_not_describe_is_refused_and_a_failing_userinfo_is_a_502(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    seed(&app, "AQ-seeded", "sub-from-linkedin", false);
    let controls = app.fake.controls();
    let body = row_without_member("u-1", "AQ-seeded", None);
    // A 403 is about this token (its scopes): the row's problem.
    controls.inject_fault(Endpoint::Userinfo, Fault::Status(403), Some(1));
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("member_id: not given, and LinkedIn would not tell"),
        "{answer}"
    );
    // A wrong userinfo URL is ours: LinkedIn could not be asked.
    controls.inject_fault(Endpoint::Userinfo, Fault::Status(404), Some(1));
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(app.account_count().await, 0);
    assert_eq!(controls.calls(Endpoint::Userinfo), 2);
}

async fn a_token_introspection_will_not_describe_is_refused_and_a_failing_one_is_a_502(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let controls = app.fake.controls();
    let body = json!({
        "user_id": "u-1",
        "email": "u-1@example.com",
        "member_id": "member-u-1",
        "access_token": "AQ-secret-token",
    });
    // LinkedIn's answer about this one token: the request's problem.
    let invalid_token = Fault::Respond {
        status: 400,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"error":"invalid_request","error_description":"Invalid token"}"#.into(),
    };
    controls.inject_fault(Endpoint::Introspect, invalid_token, Some(1));
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("access_token: LinkedIn refused to describe it"),
        "{answer}"
    );
    assert!(!answer.to_string().contains("secret"), "{answer}");
    // LinkedIn failing for as long as the retries last: ours to report as a 502.
    controls.inject_fault(Endpoint::Introspect, Fault::Status(503), None);
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(app.account_count().await, 0);
}
