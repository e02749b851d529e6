//! The host API beyond reading one token: lists without tokens, paging, forgetting an account,
//! refreshing now, a reported rejection, the forecast and the OpenAPI document, on every
//! backend through real sockets.

use crate::backend_tests;
use crate::service_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::{spawn, spawn_app, t0, Setup, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::{Endpoint, Fault, Gate};
use reqwest::StatusCode;
use serde_json::Value;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{AccountStatus, RefreshOutcome, UserId};
use tokenkeeper::store::{Lease, OneClaim};

backend_tests!(
    accounts_are_listed_page_by_page_without_tokens,
    lists_are_filtered_by_status_and_due_date,
    list_parameters_are_checked,
    deleting_an_account_forgets_its_tokens_and_pending_emails,
    refresh_now_goes_through_the_sweeps_path,
    refresh_now_is_refused_while_another_process_holds_the_account,
    refresh_now_holds_its_claim_while_linkedin_is_asked,
    refresh_now_without_a_refresh_token_changes_nothing,
    a_reported_token_that_works_changes_nothing,
    a_reported_token_confirmed_dead_starts_the_reconnect_episode,
    a_reported_token_without_refresh_token_starts_the_episode_at_once,
    a_reported_token_linkedin_cannot_judge_is_settled_by_a_refresh,
    forecast_counts_refreshes_and_members_who_must_act_per_day,
);

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    app.api_get(path).await
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
    app.api_request(method, path).await
}

fn user_ids(page: &Value) -> Vec<String> {
    page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn accounts_are_listed_page_by_page_without_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = app.seed(5, t0()).await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/accounts?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let answer = app
            .browser
            .get(app.url(&path))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let text = answer.text().await.unwrap();
        // No token of any account, under any name.
        for account in &seeded {
            assert!(!text.contains(account.token.expose()), "{text}");
            let refresh = account.refresh_token.as_ref().unwrap();
            assert!(!text.contains(refresh.expose()), "{text}");
        }
        assert!(!text.contains("access_token"), "{text}");
        let page: Value = serde_json::from_str(&text).unwrap();
        seen.extend(user_ids(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/accounts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = seeded.iter().map(|a| a.user_id.to_string()).collect();
    assert_eq!(seen, expected);

    // An account added between pages lands after the others: the order is stable.
    let (_, first) = get(&app, "/api/v1/accounts?limit=4").await;
    app.seed(6, t0()).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = get(&app, &format!("/api/v1/accounts?limit=100&cursor={cursor}")).await;
    assert_eq!(user_ids(&rest)[0], "seed-4");
}

async fn lists_are_filtered_by_status_and_due_date(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.linked("bob").await;
    app.at(t0() + Duration::days(10));
    app.linked("cyd").await;
    app.fake.controls().revoke_member(ada.member_id.as_str());
    app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        app.account("ada").await.status,
        AccountStatus::NeedsReconnect
    );

    let (_, waiting) = get(&app, "/api/v1/accounts?status=needs_reconnect").await;
    assert_eq!(user_ids(&waiting), ["ada"]);
    assert_eq!(waiting["accounts"][0]["status"], "needs_reconnect");
    let (_, active) = get(&app, "/api/v1/accounts?status=active").await;
    assert_eq!(user_ids(&active), ["bob", "cyd"]);

    // bob was refreshed at day 50 (due at day 100), cyd is due at day 60, and ada's
    // `expiration` stays at day 50.
    let before = |t: DateTime<Utc>| {
        format!(
            "/api/v1/accounts?due_before={}",
            t.to_rfc3339().replace('+', "%2B")
        )
    };
    let (_, due) = get(&app, &before(t0() + Duration::days(61))).await;
    assert_eq!(user_ids(&due), ["ada", "cyd"]);
    // Strictly before.
    let (_, due) = get(&app, &before(t0() + Duration::days(60))).await;
    assert_eq!(user_ids(&due), ["ada"]);
    let (_, both) = get(
        &app,
        &format!("{}&status=active", before(t0() + Duration::days(101))),
    )
    .await;
    assert_eq!(user_ids(&both), ["bob", "cyd"]);
}

async fn list_parameters_are_checked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.seed(1, t0()).await;
    for (query, status, code) in [
        ("status=gone", 422, "invalid_request"),
        ("due_before=yesterday", 422, "invalid_request"),
        ("limit=0", 422, "invalid_request"),
        ("limit=1001", 422, "invalid_request"),
        ("limit=ten", 422, "invalid_request"),
        // A forged cursor is the caller's mistake, never a database error.
        ("cursor=not-ours", 400, "invalid_cursor"),
        ("cursor=YTE6MSBPUiAxPTE", 400, "invalid_cursor"),
        ("cursor=MTI", 400, "invalid_cursor"),
    ] {
        let (got, body) = get(&app, &format!("/api/v1/accounts?{query}")).await;
        assert_eq!(got.as_u16(), status, "{query}: {body}");
        assert_eq!(body["error"], code, "{query}");
    }
    let (got, page) = get(&app, "/api/v1/accounts?limit=1000").await;
    assert_eq!(got, StatusCode::OK);
    assert_eq!(user_ids(&page), ["seed-0"]);
    assert!(page["next_cursor"].is_null());
}

async fn deleting_an_account_forgets_its_tokens_and_pending_emails(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.linked("bob").await;
    app.fake.controls().revoke_member(ada.member_id.as_str());
    app.sweep_at(t0() + Duration::days(50)).await;
    let pending = app.store.notifications_for(ada.id).await.unwrap();
    assert_eq!(pending.len(), 2);

    let (status, body) = send(&app, reqwest::Method::DELETE, "/api/v1/accounts/ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], "ada");
    assert_eq!(body["cancelled_emails"], 2);
    let gone = app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &UserId::parse("ada").unwrap(),
        )
        .await
        .unwrap();
    assert!(gone.is_none());
    assert!(app
        .store
        .notifications_for(ada.id)
        .await
        .unwrap()
        .is_empty());
    let (status, _) = get(&app, "/api/v1/accounts/ada").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only ada.
    assert_eq!(app.account("bob").await.status, AccountStatus::Active);

    let (status, body) = send(&app, reqwest::Method::DELETE, "/api/v1/accounts/ada").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

async fn refresh_now_goes_through_the_sweeps_path(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    app.at(t0() + Duration::days(3));
    let logs = LogCapture::start("info", LogFormat::Json);
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/refresh").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "refreshed");
    // Its log lines say what the host app asked for, beside the account.
    let said = logs.text();
    assert!(said.contains("token refreshed on demand"), "{said}");
    assert!(said.contains(r#""demand":"refresh""#), "{said}");
    assert_eq!(body["account"]["status"], "active");
    let text = body.to_string();
    let after = app.account("ada").await;
    assert_ne!(after.token.expose(), before.token.expose());
    assert!(!text.contains(after.token.expose()), "{text}");
    assert!(!text.contains(before.token.expose()), "{text}");
    assert_eq!(after.last_refreshed_at, Some(t0() + Duration::days(3)));
    assert_eq!(after.expiration, t0() + Duration::days(53));
    assert_eq!(
        body["account"]["expiration"].as_str().unwrap(),
        after
            .expiration
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    // The claim is released and the audit row has no run.
    let again = app
        .store
        .claim_one(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &UserId::parse("ada").unwrap(),
            &lease("another", app.clock_now()),
        )
        .await
        .unwrap();
    assert!(matches!(again, OneClaim::Claimed(_)), "{again:?}");
    let log = app.store.refresh_log_for(before.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].run_id, log[0].outcome.as_str()),
        (None, "refreshed")
    );
    assert_eq!(app.fake.controls().refresh_grants(), 1);

    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/accounts/nobody/refresh",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

fn lease(holder: &str, now: DateTime<Utc>) -> Lease {
    Lease {
        holder: holder.into(),
        now,
        until: now + Duration::minutes(10),
    }
}

async fn refresh_now_is_refused_while_another_process_holds_the_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let ada = UserId::parse("ada").unwrap();
    let held = app
        .store
        .claim_one(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &ada,
            &lease("a-sweep", app.clock_now()),
        )
        .await
        .unwrap();
    assert!(matches!(held, OneClaim::Claimed(_)));
    for path in [
        "/api/v1/accounts/ada/refresh",
        "/api/v1/accounts/ada/invalid",
    ] {
        let (status, body) = send(&app, reqwest::Method::POST, path).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {body}");
        assert_eq!(body["error"], "claimed");
    }
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 1);
    assert_eq!(
        app.account("ada").await.token.expose(),
        before.token.expose()
    );
    // Once the claim has lapsed, the account is taken over.
    app.at(app.clock_now() + Duration::minutes(11));
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/refresh").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A request holds its claim for the whole lease while LinkedIn is asked: a second request
/// for the same account meanwhile is told 409, and LinkedIn is asked once.
async fn refresh_now_holds_its_claim_while_linkedin_is_asked(backend: Backend) {
    // LinkedIn answers the first request only once the second has been answered, and our
    // call to it does not time out meanwhile, however slow this machine.
    let setup = Setup::default().var("LINKEDIN__TIMEOUT_SECONDS", 120);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.at(t0() + Duration::days(3));
    let controls = app.fake.controls();
    let gate = Gate::new();
    controls.inject_member_fault(ada.member_id.as_str(), Fault::Hold(gate.clone()), Some(1));
    let before = controls.calls(Endpoint::Token);
    let path = "/api/v1/accounts/ada/refresh";
    let first = send(&app, reqwest::Method::POST, path);
    let second = async {
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            controls.wait_for_calls(Endpoint::Token, before + 1),
        )
        .await
        .expect("the first request asks LinkedIn");
        let second = send(&app, reqwest::Method::POST, path).await;
        gate.open();
        second
    };
    let ((first, first_body), (second, second_body)) = tokio::join!(first, second);
    assert_eq!(first, StatusCode::OK, "{first_body}");
    assert_eq!(second, StatusCode::CONFLICT, "{second_body}");
    assert_eq!(second_body["error"], "claimed");
    assert_eq!(controls.calls(Endpoint::Token), before + 1);
}

async fn refresh_now_without_a_refresh_token_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().set_partner(false);
    let before = app.linked("ada").await;
    assert!(before.refresh_token.is_none());
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/refresh").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "no_refresh_token");
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::Active);
    assert!(app
        .store
        .notifications_for(after.id)
        .await
        .unwrap()
        .is_empty());

    // A refresh token that ends this very instant refreshes nothing either.
    app.fake.controls().set_partner(true);
    let bo = app.linked("bo").await;
    app.at(bo.refresh_token_expires_at.unwrap());
    let calls = app.fake.controls().calls(Endpoint::Token);
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/bo/refresh").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "no_refresh_token");
    assert_eq!(app.fake.controls().calls(Endpoint::Token), calls);
}

async fn a_reported_token_that_works_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/invalid").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "token_works");
    let after = app.account("ada").await;
    assert_eq!(after.token.expose(), before.token.expose());
    assert_eq!(after.status, AccountStatus::Active);
    assert_eq!(after.expiration, before.expiration);
    assert_eq!(app.fake.controls().refresh_grants(), 0);
    assert!(app
        .store
        .notifications_for(after.id)
        .await
        .unwrap()
        .is_empty());
    let log = app.store.refresh_log_for(after.id).await.unwrap();
    assert_eq!(
        log.last().unwrap().outcome,
        RefreshOutcome::AccessTokenWorks
    );
}

async fn a_reported_token_confirmed_dead_starts_the_reconnect_episode(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    app.fake.controls().revoke_member(before.member_id.as_str());
    app.at(t0() + Duration::days(5));
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/invalid").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "needs_reconnect");
    assert_eq!(body["account"]["status"], "needs_reconnect");
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::NeedsReconnect);
    // As a sweep does for a permanent failure: an email now and a reminder, on day 5, not 50.
    let kinds: Vec<String> = app
        .store
        .notifications_for(after.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind.to_string())
        .collect();
    assert_eq!(kinds, ["reconnect_required", "expiry_reminder"]);
    let outcomes: Vec<String> = app
        .store
        .refresh_log_for(after.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.outcome.to_string())
        .collect();
    assert_eq!(outcomes, ["access_token_rejected", "permanent"]);
}

async fn a_reported_token_without_refresh_token_starts_the_episode_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().set_partner(false);
    let before = app.linked("ada").await;
    app.fake.controls().revoke_member(before.member_id.as_str());
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/invalid").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "needs_reconnect");
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::NeedsReconnect);
    assert_eq!(
        app.store.notifications_for(after.id).await.unwrap().len(),
        2
    );
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 1);
    // Settled by LinkedIn's refusal of the token itself, not by a refresh attempt.
    let why = after.last_error.unwrap_or_default();
    assert!(
        why.contains("the host app reported the access token rejected"),
        "{why}"
    );
    let log = app.store.refresh_log_for(before.id).await.unwrap();
    let outcomes: Vec<_> = log.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["access_token_rejected"]);
}

/// userinfo refusing for a reason that says nothing about the token (a scope the app lacks)
/// leaves the question to a refresh, which settles it.
async fn a_reported_token_linkedin_cannot_judge_is_settled_by_a_refresh(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.linked("ada").await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Userinfo, Fault::Status(403), Some(1));
    let (status, body) = send(&app, reqwest::Method::POST, "/api/v1/accounts/ada/invalid").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "refreshed");
    let after = app.account("ada").await;
    assert_ne!(after.token.expose(), before.token.expose());
    assert_eq!(after.status, AccountStatus::Active);
}

async fn forecast_counts_refreshes_and_members_who_must_act_per_day(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Three partner accounts due at day 50; one without a refresh token, due at day 50 too.
    for user in ["a", "b", "c"] {
        app.linked(user).await;
    }
    app.fake.controls().set_partner(false);
    app.linked("nopartner").await;
    app.at(t0() + Duration::days(48));
    let (status, body) = get(&app, "/api/v1/forecast?days=5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["timezone"], "UTC");
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 5);
    assert_eq!(days[0]["date"], "2026-04-19");
    let day50 = &days[2];
    assert_eq!(day50["date"], "2026-04-21");
    assert_eq!(day50["refreshes_due"], 3);
    assert_eq!(day50["no_refresh_token"], 1);
    assert_eq!(day50["members_to_act"], 1);
    let others: i64 = days
        .iter()
        .filter(|d| d["date"] != "2026-04-21")
        .map(|d| d["refreshes_due"].as_i64().unwrap() + d["members_to_act"].as_i64().unwrap())
        .sum();
    assert_eq!(others, 0);

    // Overdue accounts count today; one waiting for its member counts on its token's death.
    app.fake.controls().set_partner(true);
    let report = app.sweep_at(t0() + Duration::days(52)).await;
    assert_eq!(report.counts.needs_reconnect, 1);
    app.at(t0() + Duration::days(53));
    let (_, body) = get(&app, "/api/v1/forecast?days=10").await;
    let days = body["days"].as_array().unwrap();
    let total = |key: &str| -> i64 { days.iter().map(|d| d[key].as_i64().unwrap()).sum() };
    assert_eq!(total("refreshes_due"), 0);
    assert_eq!(total("needs_reconnect"), 1);
    // Linked at t0 with a 60-day token: it dies on day 60, the 8th day from day 53.
    assert_eq!(days[7]["needs_reconnect"], 1, "{body}");

    for days in ["0", "366", "x"] {
        let (status, body) = get(&app, &format!("/api/v1/forecast?days={days}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{days}");
        assert_eq!(body["error"], "invalid_request");
    }
    let (status, _) = get(&app, "/api/v1/forecast").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

service_tests!(the_openapi_document_is_served_behind_the_key);
async fn the_openapi_document_is_served_behind_the_key() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let anonymous = app
        .browser
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (status, doc) = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert!(doc["paths"]["/api/v1/accounts/{user_id}/invalid"]["post"].is_object());
}
