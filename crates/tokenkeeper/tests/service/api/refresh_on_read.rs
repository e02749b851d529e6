//! Refresh on read: `GET /api/v1/accounts/{user_id}` never answers a token with less than
//! `min_validity` left when it can be renewed; it renews it first, once however many readers
//! ask at that moment. A fresh token costs no call to the network.

use crate::backend_tests;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::{Endpoint, Fault, Gate};
use reqwest::StatusCode;
use serde_json::Value;
use test_databases::Backend;
use tokenkeeper::domain::{
    AccessToken, EmailAddress, LinkedAccount, MemberId, RefreshToken, TokenSet, UserId,
};

backend_tests!(
    a_fresh_token_is_read_without_a_call,
    a_token_near_its_end_is_renewed_before_it_is_read,
    min_validity_is_the_callers_to_choose_within_bounds,
    twenty_reads_at_the_due_moment_share_one_refresh,
    a_token_nothing_can_renew_is_read_as_stored,
    a_token_shorter_lived_than_asked_is_renewed_at_half_its_life,
);

const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(60);

fn token(body: &Value) -> &str {
    body["access_token"].as_str().expect("a token")
}

fn expires(body: &Value) -> DateTime<Utc> {
    body["token_expires_at"].as_str().unwrap().parse().unwrap()
}

async fn read(app: &TestApp, query: &str) -> (StatusCode, Value) {
    app.api_get(&format!("/api/v1/accounts/ada{query}")).await
}

async fn a_fresh_token_is_read_without_a_call(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let calls = app.fake.controls().calls(Endpoint::Token);
    // A minute and a second left: just fresh enough.
    app.at(ada.token_expires_at - Duration::seconds(61));
    let (status, body) = read(&app, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(&body), ada.token.expose());
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
}

async fn a_token_near_its_end_is_renewed_before_it_is_read(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let calls = app.fake.controls().calls(Endpoint::Token);
    let now = ada.token_expires_at - Duration::seconds(59);
    app.at(now);
    let (status, body) = read(&app, "?provider=linkedin").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(token(&body), ada.token.expose(), "a renewed token");
    assert!(expires(&body) - now >= Duration::seconds(60));
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls + 1);
    // What the read answered is what is stored, and the network takes it.
    let stored = app.account("ada").await;
    assert_eq!(token(&body), stored.token.expose());
    assert!(app
        .fake
        .controls()
        .issued_tokens()
        .contains(&stored.token.expose().to_owned()));
}

async fn min_validity_is_the_callers_to_choose_within_bounds(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let calls = app.fake.controls().calls(Endpoint::Token);
    app.at(ada.token_expires_at - Duration::seconds(30));
    // Asking for no margin: thirty seconds left is enough.
    let (status, body) = read(&app, "?min_validity=0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(&body), ada.token.expose());
    for bad in ["-1", "3601", "ten", "1e3", ""] {
        let (status, body) = read(&app, &format!("?min_validity={bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains("min_validity"));
    }
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
    // An hour asked of a token with two left: no call either.
    app.at(ada.token_expires_at - Duration::hours(2));
    let (_, body) = read(&app, "?min_validity=3600").await;
    assert_eq!(token(&body), ada.token.expose());
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
}

async fn twenty_reads_at_the_due_moment_share_one_refresh(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let controls = app.fake.controls();
    app.at(ada.token_expires_at - Duration::seconds(10));
    // The network holds the one refresh until every reader has asked.
    let gate = Gate::new();
    controls.inject_fault(Endpoint::Token, Fault::Hold(gate.clone()), Some(1));
    let calls = controls.calls(Endpoint::Token);
    let readers: Vec<_> = (0..20)
        .map(|_| {
            let (client, url) = (app.browser.clone(), app.url("/api/v1/accounts/ada"));
            tokio::spawn(async move {
                let answer = client.get(url).bearer_auth(API_KEY).send().await.unwrap();
                let status = answer.status();
                (status, answer.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let reads = async {
        let mut answers = Vec::new();
        for reader in readers {
            answers.push(reader.await.unwrap());
        }
        answers
    };
    let (answers, ()) = tokio::join!(reads, async {
        tokio::time::timeout(
            EVENTUALLY,
            controls.wait_for_calls(Endpoint::Token, calls + 1),
        )
        .await
        .expect("one reader asks the network");
        gate.open();
    });
    let renewed = app.account("ada").await;
    assert_ne!(renewed.token, ada.token);
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(
            token(body),
            renewed.token.expose(),
            "every reader gets the one new token"
        );
    }
    assert_eq!(
        controls.calls(Endpoint::Token),
        calls + 1,
        "one refresh for twenty reads"
    );
}

async fn a_token_nothing_can_renew_is_read_as_stored(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // No refresh token: LinkedIn's common case without partner access.
    let linked_at = t0();
    let account = LinkedAccount::new(
        UserId::parse("ada").unwrap(),
        MemberId::parse("member-ada").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        None,
        TokenSet {
            access_token: AccessToken::new("ada-only-token"),
            token_expires_at: linked_at + Duration::days(60),
            refresh_token: None,
            refresh_token_expires_at: None,
            scope: "openid".into(),
        },
        linked_at,
        &app.config.refresh.expiry(),
    );
    app.store.save_linked_account(&account).await.unwrap();
    let calls = app.fake.controls().calls(Endpoint::Token);
    app.at(linked_at + Duration::days(60) - Duration::seconds(5));
    let (status, body) = read(&app, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(&body), "ada-only-token");
    assert_eq!(body["has_refresh_token"], false);
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
}

/// A network whose tokens live 40 seconds, read with the default minute asked: renewing on
/// every read would ask the network for a token per call. The read renews once less than half
/// the token's life (20 s) is left.
async fn a_token_shorter_lived_than_asked_is_renewed_at_half_its_life(backend: Backend) {
    let setup = Setup {
        fake: fake_linkedin::FakeConfig {
            start_time: t0(),
            accept_unknown_refresh_tokens: true,
            ..fake_linkedin::FakeConfig::default()
        },
        ..Setup::default()
    };
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let linked_at = t0();
    let account = LinkedAccount::new(
        UserId::parse("ada").unwrap(),
        MemberId::parse("member-ada").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        None,
        TokenSet {
            access_token: AccessToken::new("ada-short-token"),
            token_expires_at: linked_at + Duration::seconds(40),
            refresh_token: Some(RefreshToken::new("ada-refresh")),
            refresh_token_expires_at: None,
            scope: "openid".into(),
        },
        linked_at,
        &app.config.refresh.expiry(),
    );
    app.store.save_linked_account(&account).await.unwrap();
    let calls = app.fake.controls().calls(Endpoint::Token);
    // 21 seconds left: under the minute asked, over half the life.
    app.at(linked_at + Duration::seconds(19));
    let (status, body) = read(&app, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(&body), "ada-short-token");
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
    // 19 seconds left: renewed.
    app.at(linked_at + Duration::seconds(21));
    let (status, body) = read(&app, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(token(&body), "ada-short-token");
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls + 1);
}
