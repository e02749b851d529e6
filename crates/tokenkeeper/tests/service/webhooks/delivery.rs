//! Signed webhooks, on every backend through real sockets: each event comes from the real path
//! that causes it (the connect flow, sweeps against the fake LinkedIn, the API), is written
//! with its state change, reaches a real receiver signed so that the specification's own
//! Python library verifies it, is retried with backoff and given up after its last attempt,
//! and never carries a token.

use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::metric_values::{metric_values, only};
use crate::support::webhook_receiver::{verify_with_standard_webhooks, Receiver, SECRET};
use crate::support::{spawn, spawn_app, t0, Setup, TestApp, API_KEY};
use crate::{backend_tests, service_tests};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::store::{DeliveryStatus, StoredWebhookEvent};
use tokenkeeper::webhooks::{WebhookDelivery, WebhookReport};

backend_tests!(
    events_are_signed_so_the_specifications_library_verifies_them,
    every_state_change_is_told_by_its_event_and_none_carries_a_token,
    account_expiring_is_sent_once_before_an_end_only_the_member_can_prevent,
    an_event_is_written_in_the_transaction_of_its_state_change,
    an_event_is_marked_failed_after_its_last_attempt,
    an_event_being_delivered_is_not_sent_again_by_a_second_worker,
    no_event_is_written_while_webhooks_are_off,
    settled_events_are_pruned_after_their_retention,
    imported_accounts_are_told_as_linked_reconnected_or_needing_their_member,
    serve_delivers_events_by_itself,
    an_event_this_version_cannot_read_is_marked_failed_once,
);
backend_tests!(in_own_process: a_refused_delivery_is_retried_with_backoff_until_delivered);

/// The service with webhooks to `receiver`. Its own worker looks only once an hour, so the
/// tests deliver when they choose, at the time their clock says.
pub async fn spawn_with(
    backend: Backend,
    receiver: &Receiver,
    mut setup: Setup,
) -> Option<TestApp> {
    let defaults = [
        ("WEBHOOKS__URL", receiver.url.clone()),
        ("WEBHOOKS__SECRET", SECRET.to_owned()),
        ("WEBHOOKS__POLL_SECONDS", "3600".to_owned()),
        ("WEBHOOKS__RETRY_INITIAL_SECONDS", "30".to_owned()),
    ];
    for (key, value) in defaults {
        // A test's own value wins: of two values for one key, loading keeps either.
        if !setup.vars.iter().any(|(k, _)| *k == key) {
            setup = setup.var(key, value);
        }
    }
    spawn(backend, setup).await
}

fn worker(app: &TestApp) -> WebhookDelivery {
    WebhookDelivery::new(app.store.clone(), &app.config.webhooks, app.clock.clone())
        .unwrap()
        .expect("webhooks are on")
}

pub async fn deliver(app: &TestApp) -> WebhookReport {
    worker(app).deliver_pending().await.unwrap()
}

async fn stored_events(app: &TestApp) -> Vec<StoredWebhookEvent> {
    app.store.webhook_events(0, 1000).await.unwrap()
}

/// The received events of one user, by type.
fn types_for(received: &[Value], user_id: &str) -> Vec<String> {
    received
        .iter()
        .filter(|e| e["data"]["user_id"] == user_id)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn events_are_signed_so_the_specifications_library_verifies_them(backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    app.linked("ada").await;
    assert_eq!(deliver(&app).await.delivered, 1);

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert!(sent.headers["webhook-id"].starts_with("msg_"));
    assert!(sent.headers["webhook-signature"].starts_with("v1,"));
    let mut tampered = sent.clone();
    tampered.body = tampered.body.replace("\"ada\"", "\"eve\"");
    let messages = [sent.clone(), tampered];
    let Some(verdicts) = verify_with_standard_webhooks(SECRET, &messages).await else {
        return;
    };
    let body = verdicts[0].as_ref().expect("the signature verifies");
    assert_eq!(body["type"], "account.linked");
    assert_eq!(body["timestamp"], "2026-03-02T08:00:00Z");
    assert_eq!(body["data"]["user_id"], "ada");
    assert_eq!(body["data"]["network"], "linkedin");
    assert_eq!(body["data"]["status"], "active");
    assert_eq!(body["data"]["version"], 1);
    assert_eq!(body["data"]["has_refresh_token"], true);
    assert_eq!(body["data"]["expiration"], "2026-04-21T08:00:00Z");
    assert!(verdicts[1].is_err(), "a changed body must not verify");
    let other_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let Some(verdicts) = verify_with_standard_webhooks(other_secret, &received).await else {
        return;
    };
    assert!(verdicts[0].is_err(), "another secret must not verify");
}

async fn every_state_change_is_told_by_its_event_and_none_carries_a_token(backend: Backend) {
    let receiver = Receiver::start().await;
    let setup = Setup::default().var("REFRESH__MAX_ATTEMPTS", 2);
    let Some(app) = spawn_with(backend, &receiver, setup).await else {
        return;
    };
    app.linked("ada").await;
    // A minute later, so the new connect link is not the one already used.
    app.at(t0() + Duration::minutes(1));
    app.relinked("ada").await;
    let bo = app.linked("bo").await;
    let cy = app.linked("cy").await;
    // Day 50: ada refreshes, bo's refreshes fail for a passing reason, cy has revoked the app.
    app.fake
        .controls()
        .inject_member_fault(bo.member_id.as_str(), Fault::Status(500), None);
    app.fake.controls().revoke_member(cy.member_id.as_str());
    let report = app.sweep_at(cy.expiration).await;
    assert_eq!(
        (
            report.counts.refreshed,
            report.counts.failing,
            report.counts.needs_reconnect
        ),
        (1, 1, 1)
    );
    // cy's access token dies before its member came back.
    app.sweep_at(cy.token_expires_at).await;
    let (status, _) = delete(&app, "ada").await;
    assert_eq!(status, StatusCode::OK);

    let report = deliver(&app).await;
    assert_eq!((report.retrying, report.failed), (0, 0));
    let received = receiver.received();
    assert_eq!(report.delivered as usize, received.len());
    let bodies: Vec<Value> = received.iter().map(|r| r.json()).collect();
    assert_eq!(
        types_for(&bodies, "ada"),
        [
            "account.linked",
            "account.reconnected",
            "account.refreshed",
            "account.deleted"
        ]
    );
    let bo_types = types_for(&bodies, "bo");
    assert_eq!(bo_types[..2], ["account.linked", "account.refresh_failing"]);
    // bo may be tried again at the second sweep; it fails again then.
    assert!(bo_types[2..].iter().all(|t| t == "account.refresh_failing"));
    assert_eq!(
        types_for(&bodies, "cy"),
        [
            "account.linked",
            "account.needs_reconnect",
            "account.expired"
        ]
    );

    // Each account's events carry its versions in order; the deletion orders last.
    for user in ["ada", "bo", "cy"] {
        let versions: Vec<i64> = bodies
            .iter()
            .filter(|e| e["data"]["user_id"] == user)
            .map(|e| e["data"]["version"].as_i64().unwrap())
            .collect();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "{user}: {versions:?}"
        );
    }
    let find = |user: &str, kind: &str| -> Value {
        bodies
            .iter()
            .find(|e| e["data"]["user_id"] == user && e["type"] == kind)
            .unwrap()["data"]
            .clone()
    };
    let failing = find("bo", "account.refresh_failing");
    assert_eq!(failing["status"], "refresh_failing");
    assert!(
        failing["reason"].as_str().unwrap().contains("500"),
        "{failing}"
    );
    let needs = find("cy", "account.needs_reconnect");
    assert_eq!(needs["status"], "needs_reconnect");
    assert!(
        needs["reason"].as_str().unwrap().contains("revoked"),
        "{needs}"
    );
    // The deadline by which cy's member must act.
    assert_eq!(
        needs["token_expires_at"],
        cy.token_expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(find("cy", "account.expired")["status"], "expired");
    let deleted = find("ada", "account.deleted");
    assert_eq!(deleted["status"], "deleted");
    assert_eq!(deleted["reason"], "deleted_by_host_app");

    // No token, in any form the fake ever issued, reaches the receiver.
    let tokens = app.fake.controls().issued_tokens();
    assert!(tokens.len() >= 6);
    for sent in &received {
        for token in &tokens {
            assert!(
                !sent.body.contains(token.as_str()),
                "a token in {}",
                sent.body
            );
        }
        let data = &sent.json()["data"];
        for field in ["token", "access_token", "refresh_token"] {
            assert!(data.get(field).is_none(), "{field} in {}", sent.body);
        }
    }
    if let Some(verdicts) = verify_with_standard_webhooks(SECRET, &received).await {
        assert!(verdicts.iter().all(Result::is_ok), "{verdicts:?}");
    }
}

async fn account_expiring_is_sent_once_before_an_end_only_the_member_can_prevent(backend: Backend) {
    let receiver = Receiver::start().await;
    let setup = Setup::default().var("WEBHOOKS__EXPIRING_DAYS", 30);
    let Some(app) = spawn_with(backend, &receiver, setup).await else {
        return;
    };
    // No refresh token: the access token's death on day 60 ends the connection.
    app.fake.controls().set_partner(false);
    let bo = app.linked("bo").await;
    app.fake.controls().set_partner(true);
    // With one: the refresh token's end of life, on day 365.
    let ada = app.linked("ada").await;

    app.sweep_at(t0() + Duration::days(29)).await;
    // The store says how many warnings it wrote, which the sweep logs: bo's, then none again.
    let day31 = t0() + Duration::days(31);
    assert_eq!(app.store.record_expiring_events(day31).await.unwrap(), 1);
    assert_eq!(app.store.record_expiring_events(day31).await.unwrap(), 0);
    app.sweep_at(day31).await;
    app.sweep_at(t0() + Duration::days(32)).await;
    let expiring: Vec<StoredWebhookEvent> = stored_events(&app)
        .await
        .into_iter()
        .filter(|e| e.event.event_type.as_str() == "account.expiring")
        .collect();
    assert_eq!(expiring.len(), 1, "once, from day 30 before the end");
    assert_eq!(expiring[0].event.user_id.as_str(), "bo");
    assert_eq!(expiring[0].event.occurred_at, t0() + Duration::days(31));

    // ada is refreshed on the way; its refresh token's end comes into view 30 days ahead.
    let end = ada.refresh_token_expires_at.unwrap();
    app.sweep_at(end - Duration::days(31)).await;
    app.sweep_at(end - Duration::days(29)).await;
    app.sweep_at(end - Duration::days(28)).await;
    deliver(&app).await;
    let bodies: Vec<Value> = receiver.received().iter().map(|r| r.json()).collect();
    let warnings: Vec<&Value> = bodies
        .iter()
        .filter(|e| e["type"] == "account.expiring")
        .map(|e| &e["data"])
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let secs =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(warnings[0]["user_id"], "bo");
    assert_eq!(warnings[0]["ending"], "access_token");
    assert_eq!(warnings[0]["ends_at"], secs(bo.token_expires_at));
    assert_eq!(warnings[1]["user_id"], "ada");
    assert_eq!(warnings[1]["ending"], "refresh_token");
    assert_eq!(warnings[1]["ends_at"], secs(end));
}

async fn delete(app: &TestApp, user_id: &str) -> (StatusCode, String) {
    let answer = app
        .browser
        .delete(app.url(&format!("/api/v1/accounts/{user_id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

async fn an_event_is_written_in_the_transaction_of_its_state_change(backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    let before = app.linked("ada").await;
    let url = app.config.database_url.expose().to_owned();
    // With the outbox out of reach, no state change may happen without its event.
    crate::support::raw_sql::execute(
        &url,
        "ALTER TABLE webhook_events RENAME TO webhook_events_away",
    )
    .await
    .unwrap();
    let (status, _) = delete(&app, "ada").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.refreshed, 0);
    let kept = app.account("ada").await;
    assert_eq!(kept.token.expose(), before.token.expose());
    assert_eq!(kept.expiration, before.expiration);

    crate::support::raw_sql::execute(
        &url,
        "ALTER TABLE webhook_events_away RENAME TO webhook_events",
    )
    .await
    .unwrap();
    let report = app.sweep_at(t0() + Duration::days(51)).await;
    assert_eq!(report.counts.refreshed, 1);
    let (status, _) = delete(&app, "ada").await;
    assert_eq!(status, StatusCode::OK);
    let types: Vec<&str> = stored_events(&app)
        .await
        .iter()
        .map(|e| e.event.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        ["account.linked", "account.refreshed", "account.deleted"]
    );
}

async fn a_refused_delivery_is_retried_with_backoff_until_delivered(backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    receiver.answer_with(&[500, 503, 502]);
    app.linked("ada").await;
    assert_eq!(deliver(&app).await.retrying, 1);
    let [event] = stored_events(&app).await.try_into().unwrap();
    assert_eq!(event.delivery_status, DeliveryStatus::Pending);
    assert_eq!(event.event.attempts, 1);
    assert_eq!(event.response_status, Some(500));
    assert!(event.last_error.unwrap().starts_with("HTTP 500"));
    assert_eq!(event.next_attempt_at, t0() + Duration::seconds(30));

    // Not before its time; then the pause doubles after each failure: 30s, 60s, 120s.
    assert_eq!(deliver(&app).await, WebhookReport::default());
    let mut at = t0();
    for pause in [30, 60, 120] {
        at += Duration::seconds(pause);
        app.at(at - Duration::seconds(1));
        assert_eq!(deliver(&app).await, WebhookReport::default(), "{pause}s");
        app.at(at);
        let report = deliver(&app).await;
        let [event] = stored_events(&app).await.try_into().unwrap();
        if pause < 120 {
            assert_eq!(report.retrying, 1);
            assert_eq!(event.next_attempt_at, at + Duration::seconds(pause * 2));
        } else {
            assert_eq!(report.delivered, 1);
        }
    }

    let [event] = stored_events(&app).await.try_into().unwrap();
    assert_eq!(event.delivery_status, DeliveryStatus::Delivered);
    assert_eq!(event.event.attempts, 4);
    assert_eq!(event.response_status, Some(200));
    assert_eq!(event.delivered_at, Some(at));
    // Four tries of one message: the same id and body each time, each signed anew.
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    assert!(received
        .iter()
        .all(|r| r.headers["webhook-id"] == event.event.message_id && r.body == received[0].body));
    if let Some(verdicts) = verify_with_standard_webhooks(SECRET, &received).await {
        assert!(verdicts.iter().all(Result::is_ok), "{verdicts:?}");
    }
    let metrics = metric_values(&app).await;
    assert_eq!(
        only(&metrics, &["tokenkeeper_webhooks_total"]),
        BTreeMap::from([
            (
                "tokenkeeper_webhooks_total{outcome=\"delivered\"}".to_owned(),
                1.0
            ),
            (
                "tokenkeeper_webhooks_total{outcome=\"failed\"}".to_owned(),
                0.0
            ),
            (
                "tokenkeeper_webhooks_total{outcome=\"retry\"}".to_owned(),
                3.0
            ),
        ])
    );
}

async fn an_event_is_marked_failed_after_its_last_attempt(backend: Backend) {
    let receiver = Receiver::start().await;
    let setup = Setup::default().var("WEBHOOKS__MAX_ATTEMPTS", 3);
    let Some(app) = spawn_with(backend, &receiver, setup).await else {
        return;
    };
    receiver.answer_with(&[500, 404, 410, 500]);
    app.linked("ada").await;
    assert_eq!(deliver(&app).await.retrying, 1);
    app.at(t0() + Duration::seconds(30));
    assert_eq!(deliver(&app).await.retrying, 1);
    app.at(t0() + Duration::seconds(90));
    assert_eq!(deliver(&app).await.failed, 1);
    let [event] = stored_events(&app).await.try_into().unwrap();
    assert_eq!(event.delivery_status, DeliveryStatus::Failed);
    assert_eq!(event.event.attempts, 3);
    assert_eq!(event.response_status, Some(410));
    // Given up: never tried again.
    app.at(t0() + Duration::days(30));
    assert_eq!(deliver(&app).await, WebhookReport::default());
    assert_eq!(receiver.received().len(), 3);
}

/// Two workers (two instances of the service) share the outbox: while one waits for a slow
/// receiver, its claim keeps the event from the other, so the receiver gets it once.
async fn an_event_being_delivered_is_not_sent_again_by_a_second_worker(backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    app.linked("ada").await;
    let release = receiver.hold_next();
    let first_worker = worker(&app);
    let first = tokio::spawn(async move { first_worker.deliver_pending().await });
    receiver.wait_for(1).await;

    assert_eq!(deliver(&app).await, WebhookReport::default());
    assert_eq!(receiver.received().len(), 1);

    release.send(()).unwrap();
    let report = first.await.unwrap().unwrap();
    assert_eq!(report.delivered, 1);
    let [event] = stored_events(&app).await.try_into().unwrap();
    assert_eq!(event.delivery_status, DeliveryStatus::Delivered);
    assert_eq!(receiver.received().len(), 1);
}

async fn no_event_is_written_while_webhooks_are_off(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(500), None);
    app.sweep_at(t0() + Duration::days(50)).await;
    let (status, _) = delete(&app, "ada").await;
    assert_eq!(status, StatusCode::OK);
    assert!(stored_events(&app).await.is_empty());
}

async fn import(app: &TestApp, body: Value) -> StatusCode {
    let answer = app
        .browser
        .post(app.url("/api/v1/accounts"))
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    answer.status()
}

async fn imported_accounts_are_told_as_linked_reconnected_or_needing_their_member(
    backend: Backend,
) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    let seeded = |token: &str, member: &str, revoked: bool| {
        app.fake.controls().seed_access_token(
            token,
            fake_linkedin::SeededToken {
                member: member.into(),
                scope: vec!["openid".into(), "w_member_social".into()],
                authorized_at: t0() - Duration::days(20),
                expires_at: t0() + Duration::days(40),
                refresh: Some((format!("{token}-refresh"), t0() + Duration::days(345))),
                revoked,
            },
        )
    };
    let row = |access: &str, linked_at: chrono::DateTime<chrono::Utc>| {
        serde_json::json!({
            "user_id": "u-1",
            "email": "u-1@example.com",
            "member_id": "member-u-1",
            "access_token": access,
            "refresh_token": format!("{access}-refresh"),
            "token_expires_at": (linked_at + Duration::days(60)).to_rfc3339(),
            "refresh_token_expires_at": (linked_at + Duration::days(365)).to_rfc3339(),
            "linked_at": linked_at.to_rfc3339(),
        })
    };
    seeded("AQ-first", "member-u-1", false);
    seeded("AQ-second", "member-u-1", false);
    seeded("AQ-revoked", "member-u-2", true);
    assert!(import(&app, row("AQ-first", t0() - Duration::days(10)))
        .await
        .is_success());
    // Newer tokens for the same user replace the older ones.
    assert!(import(&app, row("AQ-second", t0() - Duration::days(1)))
        .await
        .is_success());
    let dead = serde_json::json!({
        "user_id": "u-2",
        "email": "u-2@example.com",
        "member_id": "member-u-2",
        "access_token": "AQ-revoked",
        "refresh_token": "AQ-revoked-refresh",
    });
    assert!(import(&app, dead).await.is_success());

    deliver(&app).await;
    let bodies: Vec<Value> = receiver.received().iter().map(|r| r.json()).collect();
    assert_eq!(
        types_for(&bodies, "u-1"),
        ["account.linked", "account.reconnected"]
    );
    assert!(bodies
        .iter()
        .filter(|e| e["data"]["user_id"] == "u-1")
        .all(|e| e["data"]["reason"] == "imported"));
    let [needs] = &bodies
        .iter()
        .filter(|e| e["data"]["user_id"] == "u-2")
        .collect::<Vec<_>>()[..]
    else {
        panic!("one event for u-2: {bodies:?}");
    };
    assert_eq!(needs["type"], "account.needs_reconnect");
    assert!(
        needs["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{needs}"
    );
    for sent in receiver.received() {
        assert!(!sent.body.contains("AQ-"), "a token in {}", sent.body);
    }
}

async fn settled_events_are_pruned_after_their_retention(backend: Backend) {
    let receiver = Receiver::start().await;
    let setup = Setup::default().var("WEBHOOKS__RETENTION_DAYS", 2);
    let Some(app) = spawn_with(backend, &receiver, setup).await else {
        return;
    };
    app.linked("ada").await;
    app.linked("bo").await;
    receiver.answer_with(&[200, 500]);
    let report = deliver(&app).await;
    assert_eq!((report.delivered, report.retrying), (1, 1));

    app.sweep_at(t0() + Duration::days(2) - Duration::seconds(1))
        .await;
    assert_eq!(stored_events(&app).await.len(), 2, "kept for two days");
    app.sweep_at(t0() + Duration::days(2) + Duration::seconds(1))
        .await;
    let kept = stored_events(&app).await;
    assert_eq!(
        kept.len(),
        1,
        "the delivered one goes, the pending one stays"
    );
    assert_eq!(kept[0].event.user_id.as_str(), "bo");
    assert_eq!(kept[0].delivery_status, DeliveryStatus::Pending);
}

async fn serve_delivers_events_by_itself(backend: Backend) {
    let receiver = Receiver::start().await;
    let setup = Setup::default().var("WEBHOOKS__POLL_SECONDS", 1);
    let logs = LogCapture::start("tokenkeeper=info,sqlx::query=debug", LogFormat::Json);
    let Some(app) = spawn_with(backend, &receiver, setup).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    app.linked("ada").await;
    receiver.wait_for(1).await;
    assert_eq!(receiver.event_types(), ["account.linked"]);
    // The operator sees the pass that delivered it, with its counts, and no idle pass.
    logs.assert_worker_passes(
        backend,
        "webhook delivery pass",
        "delivered",
        1,
        "webhook_events",
    )
    .await;
}

/// Runs the built binary's `webhooks test` against `url`, with exactly these variables.
async fn webhooks_test(url: Option<&str>) -> std::process::Output {
    let command = webhooks_test_command(url);
    tokio::task::spawn_blocking(move || { command }.output().expect("the binary runs"))
        .await
        .unwrap()
}

/// `tokenkeeper webhooks test` against `url`, with only the variables it needs.
fn webhooks_test_command(url: Option<&str>) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .args(["webhooks", "test"])
        .env_clear()
        .env("TOKENKEEPER_DATABASE_URL", "sqlite://unused.db")
        .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", "86abc")
        .env("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "client-secret-value")
        .env(
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "0123456789abcdef0123456789abcdef",
        )
        .env("TOKENKEEPER_WEBHOOKS__SECRET", SECRET);
    if let Some(url) = url {
        command.env("TOKENKEEPER_WEBHOOKS__URL", url);
    }
    command
}

service_tests!(
    webhooks_test_sends_a_signed_ping_and_exits_by_the_answer,
    bad_webhook_settings_are_refused_naming_the_key,
    a_receiver_streaming_an_endless_answer_costs_only_its_first_bytes,
    a_refusing_receivers_answer_is_kept_as_its_first_200_characters,
);

async fn webhooks_test_sends_a_signed_ping_and_exits_by_the_answer() {
    let receiver = Receiver::start().await;
    let accepted = webhooks_test(Some(&receiver.url)).await;
    let stdout = String::from_utf8_lossy(&accepted.stdout).into_owned();
    assert!(accepted.status.success(), "{accepted:?}");
    assert!(stdout.contains("answered 200"), "{stdout}");
    assert_eq!(receiver.event_types(), ["webhook.test"]);

    receiver.answer_with(&[500]);
    let refused = webhooks_test(Some(&receiver.url)).await;
    let shown = format!("{refused:?}");
    assert!(!refused.status.success(), "{shown}");
    assert!(shown.contains("answered 500"), "{shown}");

    if let Some(verdicts) = verify_with_standard_webhooks(SECRET, &receiver.received()).await {
        assert!(verdicts.iter().all(Result::is_ok), "{verdicts:?}");
    }
    assert!(
        !shown.contains(SECRET.trim_start_matches("whsec_")),
        "{shown}"
    );

    // Nobody listening, and no receiver configured at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks", listener.local_addr().unwrap())
    };
    let unanswered = webhooks_test(Some(&closed)).await;
    assert!(!unanswered.status.success());
    assert!(format!("{unanswered:?}").contains("no answer"));
    let off = webhooks_test(None).await;
    assert!(!off.status.success());
    assert!(format!("{off:?}").contains("webhooks are off"));
}

/// Variables of the `[webhooks]` section, the key the refusal must name, and a word of it.
type Refusal = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

async fn bad_webhook_settings_are_refused_naming_the_key() {
    let load = |vars: &[(&str, &str)]| {
        let required = [
            ("LINKEDIN__CLIENT_ID", "86abc"),
            ("LINKEDIN__CLIENT_SECRET", "client-secret-value"),
            ("CONNECT__SIGNING_KEY", "0123456789abcdef0123456789abcdef"),
        ];
        let webhooks = vars.iter().map(|(k, v)| (format!("WEBHOOKS__{k}"), *v));
        let env = required
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(webhooks)
            .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v.to_owned()));
        tokenkeeper::config::Config::load_from(None, env)
    };
    const URL: (&str, &str) = ("URL", "https://app.example.com/hooks");
    let refusals: [Refusal; 8] = [
        (&[URL], "webhooks.secret", "required"),
        (
            &[URL, ("SECRET", "hunter2hunter2hunter2hunter2")],
            "webhooks.secret",
            "whsec_",
        ),
        (
            &[URL, ("SECRET", "whsec_c2hvcnQ=")],
            "webhooks.secret",
            "24 to 64",
        ),
        (
            &[("URL", "ftp://app.example.com/"), ("SECRET", SECRET)],
            "webhooks.url",
            "http",
        ),
        (
            &[("MAX_ATTEMPTS", "0")],
            "webhooks.max_attempts",
            "1 to 100",
        ),
        (
            &[("TIMEOUT_SECONDS", "121")],
            "webhooks.timeout_seconds",
            "1 to 120",
        ),
        (
            &[("RETRY_MAX_SECONDS", "604801")],
            "webhooks.retry_max_seconds",
            "1 to 604800",
        ),
        (
            &[("EXPIRING_DAYS", "0")],
            "webhooks.expiring_days",
            "1 to 365",
        ),
    ];
    for (vars, key, expected) in refusals {
        let error = load(vars).expect_err(key).to_string();
        assert!(error.contains(&format!("`{key}`")), "{vars:?}: {error}");
        assert!(error.contains(expected), "{vars:?}: {error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
    let config = load(&[URL, ("SECRET", SECRET)]).unwrap();
    assert!(config.webhooks.enabled());
    let shown = config.redacted_toml();
    assert!(shown.contains("[webhooks]"), "{shown}");
    assert!(shown.contains("secret = \"[redacted]\""), "{shown}");
    assert!(
        !shown.contains(SECRET.trim_start_matches("whsec_")),
        "{shown}"
    );
    assert!(!load(&[]).unwrap().webhooks.enabled());
    // A receiver's credential in the URL is not printed either.
    let with_credential = (
        "URL",
        "https://hooks:hunter2@app.example.com/hooks?token=hunter3",
    );
    let shown = load(&[with_credential, ("SECRET", SECRET)])
        .unwrap()
        .redacted_toml();
    assert!(shown.contains("app.example.com/hooks"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("hunter3"),
        "{shown}"
    );
}

/// A receiver on a free port that answers every request with `status_line` and then streams
/// `text` as its body forever, until the client hangs up. Returns its URL.
fn endless_receiver(status_line: &'static str, text: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let text = text.clone();
            std::thread::spawn(move || {
                let mut request = [0u8; 65536];
                let _ = stream.read(&mut request);
                let head = format!("HTTP/1.1 {status_line}\r\ntransfer-encoding: chunked\r\n\r\n");
                let chunk = format!("{:x}\r\n{text}\r\n", text.len());
                if stream.write_all(head.as_bytes()).is_ok() {
                    while stream.write_all(chunk.as_bytes()).is_ok() {}
                }
            });
        }
    });
    url
}

/// A receiver that answers 200 and then streams its body forever: only the answer's first
/// characters are kept, so only they are read, and the ping ends at once instead of holding
/// the worker (or the command) for the whole `webhooks.timeout_seconds`.
async fn a_receiver_streaming_an_endless_answer_costs_only_its_first_bytes() {
    let url = endless_receiver("200 OK", "x".repeat(1024));
    let mut command = webhooks_test_command(Some(&url));
    command.env("TOKENKEEPER_WEBHOOKS__TIMEOUT_SECONDS", "120");
    let run = tokio::task::spawn_blocking(move || command.output().expect("the binary runs"));
    // Far under the two minutes reading the whole stream would take.
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("the ping ends once the answer's first bytes are in")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("answered 200"), "{stdout}");
    assert!(stdout.len() < 2_000, "{stdout}");
}

/// What a refusing receiver said is kept for the operator as its first 200 characters,
/// counted in characters, not bytes: a body of two-byte letters, sent in chunks of 100
/// bytes, keeps 200 of them.
async fn a_refusing_receivers_answer_is_kept_as_its_first_200_characters() {
    let url = endless_receiver("500 Internal Server Error", "é".repeat(50));
    let setup = Setup::default()
        .var("WEBHOOKS__URL", url)
        .var("WEBHOOKS__SECRET", SECRET)
        .var("WEBHOOKS__POLL_SECONDS", 3600);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    app.linked("ada").await;
    assert_eq!(deliver(&app).await.retrying, 1);
    let [event] = stored_events(&app).await.try_into().unwrap();
    assert_eq!(event.response_status, Some(500));
    assert_eq!(
        event.last_error.as_deref(),
        Some(format!("HTTP 500: {}", "é".repeat(200)).as_str())
    );
}

/// A row this version cannot read (a type written by a newer version, or edited by hand) is
/// marked failed at its first claim, not claimed again at every lapse of its lease; the other
/// events are delivered.
async fn an_event_this_version_cannot_read_is_marked_failed_once(backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    app.linked("ada").await;
    app.linked("bo").await;
    let events = app.store.webhook_events(0, 10).await.unwrap();
    let damaged = events[0].event.id;
    crate::support::raw_sql::execute(
        app.config.database_url.expose(),
        &format!("UPDATE webhook_events SET event_type = 'account.renamed' WHERE id = {damaged}"),
    )
    .await
    .unwrap();
    deliver(&app).await;
    receiver.wait_for(1).await;
    assert_eq!(receiver.event_types(), ["account.linked"]);
    let status: Vec<(i64, String)> = crate::support::raw_sql::rows(
        app.config.database_url.expose(),
        "SELECT id, delivery_status FROM webhook_events ORDER BY id",
    )
    .await;
    assert_eq!(status[0], (damaged, "failed".to_owned()), "{status:?}");
    assert_eq!(status[1].1, "delivered", "{status:?}");
}
