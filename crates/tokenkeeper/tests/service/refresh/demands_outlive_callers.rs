//! A refresh the host app asked for always finishes: once the account is claimed and LinkedIn
//! asked, its answer is written and the claim released, whether the caller waited for it, hung
//! up, timed out, or the server shut down meanwhile. LinkedIn's answer is held by a gate the
//! test opens only after the caller is gone, so nothing here depends on how long anything
//! takes.

use crate::backend_tests;
use crate::support::{spawn, t0, Setup, TestApp, API_KEY};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault, Gate};
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::{Account, RefreshOutcome, UserId};
use tokenkeeper::store::{Lease, OneClaim};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

backend_tests!(
    a_refresh_outlives_a_request_that_timed_out,
    a_refresh_outlives_a_caller_that_hung_up,
    shutdown_waits_for_a_refresh_whose_connection_it_closed,
    shutdown_releases_a_refresh_still_waiting_out_linkedins_pause,
);

/// Generous: only a broken build waits this long.
const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(60);

/// LinkedIn's calls never time out on their own here: only the gate ends them.
fn patient() -> Setup {
    Setup::default().var("LINKEDIN__TIMEOUT_SECONDS", 120)
}

/// `POST path` with the API key, written on a socket of its own.
async fn post_on_socket(app: &TestApp, path: &str) -> tokio::net::TcpStream {
    let address = format!(
        "{}:{}",
        app.base.host_str().unwrap(),
        app.base.port().unwrap()
    );
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: tokenkeeper\r\nAuthorization: Bearer {API_KEY}\r\nContent-Length: 0\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    socket
}

/// `POST path` with the API key; only the status (a time-out's answer is not JSON).
async fn post_status(app: &TestApp, path: &str) -> StatusCode {
    app.browser
        .post(app.url(path))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .status()
}

/// Waits until the account's audit log holds `rows` rows, then returns them.
async fn wait_for_log(app: &TestApp, account_id: i64, rows: usize) -> Vec<RefreshOutcome> {
    tokio::time::timeout(EVENTUALLY, async {
        loop {
            let log = app.store.refresh_log_for(account_id).await.unwrap();
            if log.len() >= rows {
                return log.into_iter().map(|entry| entry.outcome).collect();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the refresh's audit row is written")
}

/// Whether another process could take the account now: the request's claim is gone.
async fn claim_released(app: &TestApp, user_id: &str) -> bool {
    let now = app.clock_now();
    let lease = Lease {
        holder: "the-test".into(),
        now,
        until: now + Duration::minutes(10),
    };
    let claimed = app
        .store
        .claim_one(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &UserId::parse(user_id).unwrap(),
            &lease,
        )
        .await
        .unwrap();
    matches!(claimed, OneClaim::Claimed(_))
}

/// What LinkedIn issued was stored: the access token changed and the refresh is recorded.
async fn assert_refreshed(app: &TestApp, before: &Account) {
    let after = app.account(before.user_id.as_str()).await;
    assert_ne!(after.token.expose(), before.token.expose());
    assert_eq!(after.last_refreshed_at, Some(app.clock_now()));
    assert!(app
        .fake
        .controls()
        .issued_tokens()
        .contains(&after.token.expose().to_owned()));
}

async fn a_refresh_outlives_a_request_that_timed_out(backend: Backend) {
    let Some(app) = spawn(backend, patient().var("HTTP__REQUEST_TIMEOUT_SECONDS", 1)).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let bo = app.linked("bo").await;
    app.at(t0() + Duration::days(3));
    let controls = app.fake.controls();

    // A refresh: LinkedIn has the request when the server gives up on the caller.
    let gate = Gate::new();
    controls.inject_fault(Endpoint::Token, Fault::Hold(gate.clone()), Some(1));
    let calls = controls.calls(Endpoint::Token);
    let (status, _) = tokio::join!(post_status(&app, "/api/v1/accounts/ada/refresh"), async {
        tokio::time::timeout(
            EVENTUALLY,
            controls.wait_for_calls(Endpoint::Token, calls + 1),
        )
        .await
        .expect("the request asks LinkedIn")
    });
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    gate.open();
    assert_eq!(
        wait_for_log(&app, ada.id, 1).await,
        [RefreshOutcome::Refreshed]
    );
    assert_refreshed(&app, &ada).await;
    assert!(claim_released(&app, "ada").await);
    assert_eq!(controls.calls(Endpoint::Token), calls + 1);

    // A reported rejection: LinkedIn's userinfo says the token works, after the timeout.
    let gate = Gate::new();
    controls.inject_fault(Endpoint::Userinfo, Fault::Hold(gate.clone()), Some(1));
    let calls = controls.calls(Endpoint::Userinfo);
    let (status, _) = tokio::join!(post_status(&app, "/api/v1/accounts/bo/invalid"), async {
        tokio::time::timeout(
            EVENTUALLY,
            controls.wait_for_calls(Endpoint::Userinfo, calls + 1),
        )
        .await
        .expect("the request asks LinkedIn")
    });
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    gate.open();
    assert_eq!(
        wait_for_log(&app, bo.id, 1).await,
        [RefreshOutcome::AccessTokenWorks]
    );
    assert!(claim_released(&app, "bo").await);
}

async fn a_refresh_outlives_a_caller_that_hung_up(backend: Backend) {
    let Some(app) = spawn(backend, patient()).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.at(t0() + Duration::days(3));
    let controls = app.fake.controls();
    let gate = Gate::new();
    controls.inject_fault(Endpoint::Token, Fault::Hold(gate.clone()), Some(1));
    let calls = controls.calls(Endpoint::Token);
    let socket = post_on_socket(&app, "/api/v1/accounts/ada/refresh").await;
    tokio::time::timeout(
        EVENTUALLY,
        controls.wait_for_calls(Endpoint::Token, calls + 1),
    )
    .await
    .expect("the request asks LinkedIn");
    drop(socket);
    gate.open();
    assert_eq!(
        wait_for_log(&app, ada.id, 1).await,
        [RefreshOutcome::Refreshed]
    );
    assert_refreshed(&app, &ada).await;
    assert!(claim_released(&app, "ada").await);
}

/// Past `http.shutdown_grace_seconds` the server closes the caller's connection; the refresh
/// goes on, and the server stops only once it is written.
async fn shutdown_waits_for_a_refresh_whose_connection_it_closed(backend: Backend) {
    let Some(mut app) = spawn(backend, patient().var("HTTP__SHUTDOWN_GRACE_SECONDS", 1)).await
    else {
        return;
    };
    let ada = app.linked("ada").await;
    app.at(t0() + Duration::days(3));
    let controls = app.fake.controls();
    let gate = Gate::new();
    controls.inject_fault(Endpoint::Token, Fault::Hold(gate.clone()), Some(1));
    let calls = controls.calls(Endpoint::Token);
    let mut socket = post_on_socket(&app, "/api/v1/accounts/ada/refresh").await;
    tokio::time::timeout(
        EVENTUALLY,
        controls.wait_for_calls(Endpoint::Token, calls + 1),
    )
    .await
    .expect("the request asks LinkedIn");
    app.shutdown.take().unwrap().send(()).unwrap();
    // The grace ends and the server closes the connection without an answer.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(EVENTUALLY, socket.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    assert!(
        read.is_err() || answer.is_empty(),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(!app.server.is_finished(), "serve waits for the refresh");
    gate.open();
    tokio::time::timeout(EVENTUALLY, &mut app.server)
        .await
        .expect("serve stops once the refresh is written")
        .unwrap();
    // Read at once: serve returned only after the refresh was written.
    let log = app.store.refresh_log_for(ada.id).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].outcome, RefreshOutcome::Refreshed);
    assert_refreshed(&app, &ada).await;
    assert!(claim_released(&app, "ada").await);
}

/// A refresh that has not asked LinkedIn yet has nothing to lose: at shutdown it stops waiting
/// out the pause LinkedIn asked for and releases its account, rather than hold `serve` up.
async fn shutdown_releases_a_refresh_still_waiting_out_linkedins_pause(backend: Backend) {
    let setup = patient()
        .var("HTTP__SHUTDOWN_GRACE_SECONDS", 1)
        .var("REFRESH__RETRY_MAX_TOTAL_SECONDS", 1000);
    let Some(mut app) = spawn(backend, setup).await else {
        return;
    };
    app.linked("ada").await;
    let bo = app.linked("bo").await;
    app.at(t0() + Duration::days(3));
    let controls = app.fake.controls();
    // LinkedIn throttles ada's refresh: every call of the process now waits five minutes.
    controls.inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(300),
        },
        Some(1),
    );
    let (status, body) = app
        .api_request(reqwest::Method::POST, "/api/v1/accounts/ada/refresh")
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let calls = controls.calls(Endpoint::Token);
    let _socket = post_on_socket(&app, "/api/v1/accounts/bo/refresh").await;
    let url = app.config.database_url.expose().to_owned();
    tokio::time::timeout(EVENTUALLY, async {
        loop {
            let claims: Vec<(Option<String>,)> = crate::support::raw_sql::rows(
                &url,
                "SELECT claimed_by FROM social_network WHERE user_id = 'bo'",
            )
            .await;
            if claims[0].0.is_some() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("bo's refresh claims the account and waits");
    app.shutdown.take().unwrap().send(()).unwrap();
    tokio::time::timeout(EVENTUALLY, &mut app.server)
        .await
        .expect("serve stops without waiting out the pause")
        .unwrap();
    assert_eq!(
        controls.calls(Endpoint::Token),
        calls,
        "bo's refresh was not sent"
    );
    assert!(claim_released(&app, "bo").await);
    assert_eq!(app.account("bo").await.token.expose(), bo.token.expose());
}
