//! The connect flow end to end, and every way it can be abused or fail: each bad input gets a
//! clear answer and leaves nothing behind.

use crate::backend_tests;
use crate::support::{location, spawn_app, t0, RETURN_ORIGIN};
use chrono::Duration;
use fake_linkedin::{Consent, Endpoint, Fault};
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, UserId};

backend_tests!(
    partner_app_stores_tokens_with_expiration,
    non_partner_app_stores_no_refresh_token,
    returns_to_the_host_app_after_connecting,
    reconnecting_replaces_the_tokens_of_the_same_row,
    forged_link_is_refused_and_stores_nothing,
    expired_link_is_refused_and_stores_nothing,
    return_to_outside_the_allow_list_is_refused,
    api_requires_the_api_key,
    unknown_missing_and_replayed_state_are_refused,
    a_state_dies_at_the_instant_its_attempt_expires,
    replayed_code_is_refused_and_changes_nothing,
    cancelled_consent_changes_nothing,
    linkedin_failure_on_code_exchange_stores_nothing,
    linkedin_timeout_on_code_exchange_stores_nothing,
    linkedin_failure_on_userinfo_stores_nothing,
    api_returns_the_stored_account,
);

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

async fn partner_app_stores_tokens_with_expiration(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let done = app.connect("u-1", "ada@example.com").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("LinkedIn is connected"));

    let account = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-1"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.email.as_str(), "ada@example.com");
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.linked_at, t0());
    assert_eq!(account.expiration, t0() + Duration::days(50));
    assert_eq!(
        account.token_expires_at,
        t0() + Duration::seconds(5_183_999)
    );
    assert!(account.refresh_token.is_some());
    assert_eq!(
        account.refresh_token_expires_at,
        Some(t0() + Duration::seconds(31_536_059))
    );
    assert_eq!(account.scope, "openid profile email w_member_social");
    let members = app.fake.controls().members();
    assert_eq!(members.len(), 1);
    assert_eq!(account.member_id.as_str(), members[0].sub);
    assert_eq!(account.name.as_deref(), Some(members[0].name.as_str()));
    assert_eq!(
        app.fake
            .controls()
            .member_of_access_token(account.token.expose()),
        Some(members[0].sub.clone())
    );
    // The attempt was consumed.
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
}

async fn non_partner_app_stores_no_refresh_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().set_partner(false);
    assert_eq!(
        app.connect("u-2", "bo@example.com").await.status(),
        StatusCode::OK
    );
    let account = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-2"),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(account.refresh_token.is_none());
    assert!(account.refresh_token_expires_at.is_none());
    // Still due at day 50: that is when the reconnect email must go out.
    assert_eq!(account.expiration, t0() + Duration::days(50));
}

async fn returns_to_the_host_app_after_connecting(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let back = format!("{RETURN_ORIGIN}/settings/linkedin?tab=1");
    let link = app.connect_link("u-3", "cy@example.com", Some(&back)).await;
    let callback = app.consent(&link).await;
    let done = app.browser.get(callback).send().await.unwrap();
    assert!(done.status().is_redirection());
    assert_eq!(location(&done).as_str(), back);
    assert_eq!(app.account_count().await, 1);
}

async fn reconnecting_replaces_the_tokens_of_the_same_row(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // The same LinkedIn member connects both times.
    app.fake.controls().login_as(Some(fake_linkedin::Member {
        sub: "member-u-4".into(),
        name: "Member U4".into(),
        given_name: "Member".into(),
        family_name: "U4".into(),
        email: None,
    }));
    assert_eq!(
        app.connect("u-4", "old@example.com").await.status(),
        StatusCode::OK
    );
    let first = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-4"),
        )
        .await
        .unwrap()
        .unwrap();
    app.clock.advance(Duration::days(10));
    assert_eq!(
        app.connect("u-4", "new@example.com").await.status(),
        StatusCode::OK
    );
    let second = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-4"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.account_count().await, 1);
    assert_eq!(second.id, first.id);
    assert_ne!(second.token.expose(), first.token.expose());
    assert_eq!(second.email.as_str(), "new@example.com");
    assert_eq!(second.expiration, t0() + Duration::days(60));
    assert!(second.version > first.version);
}

async fn forged_link_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-5", "eve@example.com", None).await;
    let forged_user = link.as_str().replace("user_id=u-5", "user_id=admin");
    let no_signature = link.as_str().split("&sig=").next().unwrap().to_owned();
    let bad_signature = format!("{no_signature}&sig=AAAA");
    for forged in [forged_user, no_signature, bad_signature] {
        let response = app.browser.get(&forged).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{forged}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("This link is not valid"));
    }
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
    assert_eq!(app.account_count().await, 0);
    assert_eq!(app.fake.controls().calls(Endpoint::Authorize), 0);
}

async fn expired_link_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-6", "late@example.com", None).await;
    app.clock.advance(Duration::minutes(16));
    let response = app.browser.get(link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.text().await.unwrap().contains("expired"));
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
    assert_eq!(app.account_count().await, 0);
}

async fn return_to_outside_the_allow_list_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for bad in [
        "https://evil.example.com/",
        "https://app.example.com.evil.com/x",
        "not a url",
    ] {
        let response = app
            .request_connect_link("u-7", "x@example.com", Some(bad))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("return_to"));
    }
    // A link whose return_to was swapped after signing is a forgery.
    let good = app
        .connect_link("u-7", "x@example.com", Some("https://app.example.com/ok"))
        .await;
    let swapped = good.as_str().replace(
        "return_to=https%3A%2F%2Fapp.example.com%2Fok",
        "return_to=https%3A%2F%2Fevil.example.com%2F",
    );
    assert_ne!(swapped, good.as_str());
    let response = app.browser.get(&swapped).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
    assert_eq!(app.account_count().await, 0);
}

async fn api_requires_the_api_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = serde_json::json!({"user_id": "u-8", "email": "x@example.com"});
    let missing = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .bearer_auth("not-the-key-at-all-000")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let read = app
        .browser
        .get(app.url("/api/v1/accounts/u-8"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);
    let bad_email = app.request_connect_link("u-8", "not-an-email", None).await;
    assert_eq!(bad_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.account_count().await, 0);
}

async fn unknown_missing_and_replayed_state_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for query in [
        "?code=abc",
        "?code=abc&state=",
        "?code=abc&state=made-up-state",
    ] {
        let response = app
            .browser
            .get(app.url(&format!("/oauth/linkedin/callback{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    let link = app.connect_link("u-9", "x@example.com", None).await;
    let callback = app.consent(&link).await;
    assert_eq!(
        app.browser
            .get(callback.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let replay = app.browser.get(callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.text().await.unwrap().contains("already used"));
    assert_eq!(app.account_count().await, 1);

    // A state that outlived its attempt is refused too.
    let link = app.connect_link("u-10", "y@example.com", None).await;
    let callback = app.consent(&link).await;
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        app.browser.get(callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert!(app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-10")
        )
        .await
        .unwrap()
        .is_none());
}

/// An attempt lives `connect.link_ttl_minutes` (15) from the moment its link was opened: a
/// callback a second before the end completes, one at the end itself is refused.
async fn a_state_dies_at_the_instant_its_attempt_expires(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-30", "x@example.com", None).await;
    let in_time = app.consent(&link).await;
    let link = app.connect_link("u-31", "y@example.com", None).await;
    let at_the_end = app.consent(&link).await;

    app.clock
        .advance(Duration::minutes(15) - Duration::seconds(1));
    let response = app.browser.get(in_time).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    app.clock.advance(Duration::seconds(1));
    let response = app.browser.get(at_the_end).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-31")
        )
        .await
        .unwrap()
        .is_none());
}

async fn replayed_code_is_refused_and_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-11", "x@example.com", None).await;
    let first_callback = app.consent(&link).await;
    assert_eq!(
        app.browser
            .get(first_callback.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let before = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-11"),
        )
        .await
        .unwrap()
        .unwrap();
    let old_code = first_callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    // A fresh attempt (a link asked for a moment later), but completed with the code
    // LinkedIn already redeemed.
    app.clock.advance(Duration::seconds(1));
    let link = app.connect_link("u-11", "x@example.com", None).await;
    let mut second_callback = app.consent(&link).await;
    let state = second_callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    second_callback
        .query_pairs_mut()
        .clear()
        .append_pair("code", &old_code)
        .append_pair("state", &state);
    let response = app.browser.get(second_callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let after = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-11"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.token.expose(), before.token.expose());
    assert_eq!(after.version, before.version);
}

async fn cancelled_consent_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for consent in [Consent::CancelLogin, Consent::CancelAuthorize] {
        app.fake.controls().set_consent(consent);
        let link = app.connect_link("u-12", "x@example.com", None).await;
        let callback = app.consent(&link).await;
        assert!(callback.query().unwrap().contains("error=user_cancelled_"));
        let response = app.browser.get(callback).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("nothing was changed"));
    }
    assert_eq!(app.account_count().await, 0);
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 0);
}

async fn linkedin_failure_on_code_exchange_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for fault in [
        Fault::Status(500),
        Fault::Status(503),
        Fault::TooManyRequests {
            retry_after: Some(30),
        },
    ] {
        app.fake
            .controls()
            .inject_fault(Endpoint::Token, fault, Some(1));
        let response = app.connect("u-13", "x@example.com").await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Nothing was changed"));
    }
    assert_eq!(app.account_count().await, 0);
}

async fn linkedin_timeout_on_code_exchange_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Hang, None);
    let started = std::time::Instant::now();
    let response = app.connect("u-14", "x@example.com").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    // The configured 2 s timeout and the bounded retries, not the fake's hour-long hang,
    // ended the request (generous for a loaded machine).
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(app.account_count().await, 0);
}

async fn linkedin_failure_on_userinfo_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake
        .controls()
        .inject_fault(Endpoint::Userinfo, Fault::Status(502), None);
    let response = app.connect("u-15", "x@example.com").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(app.account_count().await, 0);
}

async fn api_returns_the_stored_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(
        app.connect("u-16", "x@example.com").await.status(),
        StatusCode::OK
    );
    let response = app
        .browser
        .get(app.url("/api/v1/accounts/u-16"))
        .bearer_auth(crate::support::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let stored = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-16"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["access_token"], stored.token.expose());
    assert_eq!(body["status"], "active");
    assert_eq!(body["has_refresh_token"], true);
    let missing = app
        .browser
        .get(app.url("/api/v1/accounts/nobody"))
        .bearer_auth(crate::support::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
