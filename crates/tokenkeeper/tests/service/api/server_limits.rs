//! The server against clients that are slow on purpose or send too much: a raw socket stands
//! for the client, so every byte and every stall is the test's choice. No storage is involved
//! beyond a connect flow, so these run on SQLite only.

use crate::service_tests;
use crate::support::{spawn, Setup, TestApp, API_KEY};
use fake_linkedin::{Endpoint, Fault, Gate};
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use test_databases::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn open(app: &TestApp) -> TcpStream {
    let host = app.base.host_str().unwrap();
    let port = app.base.port().unwrap();
    TcpStream::connect((host, port)).await.unwrap()
}

/// Reads until the server closes the connection, or `within` passes; returns what was read,
/// or `None` when the connection was still open at the end.
pub async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let reading = async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(within, reading).await.ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

/// One whole request and its answer on an open connection, which stays open (keep-alive).
pub async fn healthz_on(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tokenkeeper\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "the server closed a kept-alive connection");
        answer.extend_from_slice(&buffer[..n]);
    }
}

service_tests!(a_client_trickling_its_headers_is_cut_off);
async fn a_client_trickling_its_headers_is_cut_off() {
    let setup = Setup::default().var("HTTP__HEADER_TIMEOUT_SECONDS", 1);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let mut slow = open(&app).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: tokenkeeper\r\nX-Half: ")
        .await
        .unwrap();
    // Generous bounds: nothing else would close it (the request timeout starts with the
    // whole head), so only a missing header timeout fails them.
    let started = Instant::now();
    let closed = read_until_closed(&mut slow, Duration::from_secs(40)).await;
    assert!(
        closed.is_some(),
        "a half-sent request head kept its connection open"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // Others are still served.
    let ok = app.browser.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

service_tests!(shutdown_ends_serving_within_the_grace_period_despite_a_half_sent_request);
async fn shutdown_ends_serving_within_the_grace_period_despite_a_half_sent_request() {
    let setup = Setup::default()
        .var("HTTP__SHUTDOWN_GRACE_SECONDS", 1)
        // Long enough that only the shutdown deadline can end the stalled request.
        .var("HTTP__HEADER_TIMEOUT_SECONDS", 300);
    let Some(mut app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let mut stalled = open(&app).await;
    // Past the first bytes, so the server knows it is HTTP/1.1 and is reading the head.
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tokenkeeper\r\nX-Half: ")
        .await
        .unwrap();
    // A round trip on another connection gives the server time to read the half head.
    let mut other = open(&app).await;
    healthz_on(&mut other).await;

    let signalled = Instant::now();
    let _ = app.shutdown.take().unwrap().send(());
    // Generous bounds: with a header time-out of five minutes, only the grace ends it.
    let stopped = tokio::time::timeout(Duration::from_secs(60), &mut app.server).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "serving did not end within the grace period: {stopped:?}"
    );
    assert!(signalled.elapsed() < Duration::from_secs(30));
    assert!(
        read_until_closed(&mut stalled, Duration::from_secs(30))
            .await
            .is_some(),
        "the stalled connection was left open"
    );
}

service_tests!(shutdown_lets_a_request_in_flight_finish);
async fn shutdown_lets_a_request_in_flight_finish() {
    let setup = Setup::default().var("HTTP__SHUTDOWN_GRACE_SECONDS", 10);
    let Some(mut app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let link = app.connect_link("u-1", "ada@example.com", None).await;
    let callback = app.consent(&link).await;
    // LinkedIn answers the code exchange only once serve has stopped accepting.
    let gate = Gate::new();
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Hold(gate.clone()), Some(1));
    let browser = app.browser.clone();
    let in_flight = tokio::spawn(async move { browser.get(callback).send().await });
    // The callback is in flight once it has reached LinkedIn's token endpoint.
    let controls = app.fake.controls();
    tokio::time::timeout(
        Duration::from_secs(60),
        controls.wait_for_calls(Endpoint::Token, 1),
    )
    .await
    .expect("the callback reaches LinkedIn");
    let _ = app.shutdown.take().unwrap().send(());
    let address = (
        app.base.host_str().unwrap().to_owned(),
        app.base.port().unwrap(),
    );
    tokio::time::timeout(Duration::from_secs(60), async {
        while TcpStream::connect(address.clone()).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("serve stops accepting");
    gate.open();
    let answer = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(answer.status(), StatusCode::OK);
    let stopped = tokio::time::timeout(Duration::from_secs(60), &mut app.server).await;
    assert!(matches!(stopped, Ok(Ok(()))));
    assert_eq!(app.account_count().await, 1);
}

service_tests!(a_request_that_takes_too_long_is_answered_408);
async fn a_request_that_takes_too_long_is_answered_408() {
    let setup = Setup::default().var("HTTP__REQUEST_TIMEOUT_SECONDS", 1);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let mut slow = open(&app).await;
    // The head arrives whole; the body promises 100 bytes and delivers 10.
    let head = format!(
        "POST /api/v1/connect-links HTTP/1.1\r\nHost: tokenkeeper\r\n\
         Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"user_id\""
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(40), slow.read(&mut answer))
        .await
        .expect("the server answers a stalled body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

service_tests!(a_body_over_the_limit_is_refused_whole_or_streamed);
async fn a_body_over_the_limit_is_refused_whole_or_streamed() {
    let setup = Setup::default().var("HTTP__BODY_LIMIT_BYTES", 4096);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    // Valid JSON the route would accept, padded past the limit with a field it ignores.
    let padded = serde_json::json!({
        "user_id": "u-1",
        "email": "ada@example.com",
        "padding": "x".repeat(8 * 1024),
    })
    .to_string();
    let declared = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(padded.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = declared.json().await.unwrap();
    assert_eq!(body["error"], "body_too_large");

    // Chunked: no length announced, so the limit must hold while reading.
    let mut streamed = open(&app).await;
    let head = format!(
        "POST /api/v1/connect-links HTTP/1.1\r\nHost: tokenkeeper\r\n\
         Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    streamed.write_all(head.as_bytes()).await.unwrap();
    for chunk in padded.as_bytes().chunks(1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may stop reading once the limit is passed.
        if streamed.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = streamed.write_all(b"0\r\n\r\n").await;
    let answer = read_until_closed(&mut streamed, Duration::from_secs(5))
        .await
        .expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    let small = app
        .request_connect_link("u-1", "ada@example.com", None)
        .await;
    assert_eq!(small.status(), StatusCode::OK);
}
