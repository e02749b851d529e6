//! Connection slots against clients that take many: one client address holds at most its
//! share (`http.max_connections_per_client`), and when every slot is taken the connection idle
//! the longest makes way for a new client; one with a request in flight never does. Each
//! client is a raw socket bound to an address of its own (Linux answers the whole of
//! 127.0.0.0/8 on loopback), so one test can be many clients. No storage is involved beyond
//! issuing a link, so these run on SQLite only.

use crate::api::server_limits::{healthz_on, read_until_closed};
use crate::service_tests;
use crate::support::{spawn, Setup, TestApp, API_KEY};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use test_databases::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

service_tests!(
    a_client_holding_its_share_of_connections_cannot_open_one_more,
    idle_connections_make_way_for_a_new_client_when_every_slot_is_taken,
    a_connection_with_a_request_in_flight_is_never_closed_for_a_new_client,
    a_new_client_waits_while_every_connection_is_busy,
    behind_a_trusted_proxy_connections_are_not_counted_per_address,
);

/// Long enough for a slow machine; nothing waits this long when all is well.
const BOUND: Duration = Duration::from_secs(20);

/// Idle connections are closed only to make way, not by the idle timeout, while a test runs.
fn slots(max_connections: usize) -> Setup {
    Setup::default()
        .var("HTTP__MAX_CONNECTIONS", max_connections)
        .var("HTTP__HEADER_TIMEOUT_SECONDS", 300)
}

async fn within<T>(what: &str, doing: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, doing)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {BOUND:?}"))
}

/// A new connection from `client` (its source address) to the public listener.
async fn open_from(app: &TestApp, client: Ipv4Addr) -> TcpStream {
    let server: SocketAddr = format!(
        "{}:{}",
        app.base.host_str().unwrap(),
        app.base.port().unwrap()
    )
    .parse()
    .unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((client, 0))).unwrap();
    socket.connect(server).await.unwrap()
}

/// A connection from `client` that has had one request answered: open, kept alive, idle.
async fn idle_from(app: &TestApp, client: Ipv4Addr) -> TcpStream {
    let mut stream = open_from(app, client).await;
    within(
        "a new client's request is answered",
        healthz_on(&mut stream),
    )
    .await;
    stream
}

const LINK_REQUEST: &str = r#"{"user_id":"u-1","email":"ada@example.com"}"#;

/// A connection from `client` with a request in flight. The head asks `Expect: 100-continue`,
/// so the server's `100 Continue` says the request has reached its handler, which now waits
/// for the body the test has not sent yet (`finish` sends it).
async fn busy_from(app: &TestApp, client: Ipv4Addr) -> TcpStream {
    let mut stream = open_from(app, client).await;
    let head = format!(
        "POST /api/v1/connect-links HTTP/1.1\r\nHost: tokenkeeper\r\n\
         Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        LINK_REQUEST.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = within("the request reaches its handler", read_head(&mut stream)).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream
}

/// Sends the body a `busy_from` request waits for; the head of its answer.
async fn finish(stream: &mut TcpStream) -> String {
    stream.write_all(LINK_REQUEST.as_bytes()).await.unwrap();
    within("the request in flight is answered", read_head(stream)).await
}

/// Reads up to the end of an answer's head (the body, if any, stays unread).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert!(n > 0, "the server closed the connection mid-answer");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn client(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

async fn a_client_holding_its_share_of_connections_cannot_open_one_more() {
    let setup = slots(512).var("HTTP__MAX_CONNECTIONS_PER_CLIENT", 2);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let mut idle = idle_from(&app, client(2)).await;
    let mut busy = busy_from(&app, client(2)).await;

    let mut one_more = open_from(&app, client(2)).await;
    let refused = read_until_closed(&mut one_more, BOUND)
        .await
        .expect("a connection over the client's share is closed");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("connection: close"), "{refused}");

    // Another address is answered, and the client's own connections still serve it.
    let _other = idle_from(&app, client(3)).await;
    within("the held connection answers", healthz_on(&mut idle)).await;
    assert!(finish(&mut busy).await.starts_with("HTTP/1.1 200"));

    // Once one of them is closed, the client may open another. Nothing tells when the server
    // has seen the close, so the client tries until it is let in.
    drop(idle);
    let _again = within("the client is let in again", async {
        loop {
            let mut again = open_from(&app, client(2)).await;
            // Refused, the socket may be closed before the request is written.
            let _ = again
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: tokenkeeper\r\n\r\n")
                .await;
            let mut answer = [0u8; 12];
            if again.read_exact(&mut answer).await.is_ok() && &answer == b"HTTP/1.1 200" {
                return again;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // Its share is full again.
    let mut one_more = open_from(&app, client(2)).await;
    let refused = read_until_closed(&mut one_more, BOUND)
        .await
        .expect("a connection over the client's share is closed");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
}

async fn idle_connections_make_way_for_a_new_client_when_every_slot_is_taken() {
    let Some(app) = spawn(Backend::Sqlite, slots(3)).await else {
        return;
    };
    let mut first = idle_from(&app, client(2)).await;
    let mut second = idle_from(&app, client(3)).await;
    let mut third = idle_from(&app, client(4)).await;
    // The oldest connection is used again: the second is now the one idle the longest.
    within("a kept-alive connection answers", healthz_on(&mut first)).await;

    let _newcomer = idle_from(&app, client(5)).await;
    assert!(
        read_until_closed(&mut second, BOUND).await.is_some(),
        "the connection idle the longest was left open"
    );
    // The others were left alone.
    within("the first connection answers", healthz_on(&mut first)).await;
    within("the third connection answers", healthz_on(&mut third)).await;
}

async fn a_connection_with_a_request_in_flight_is_never_closed_for_a_new_client() {
    let Some(app) = spawn(Backend::Sqlite, slots(2)).await else {
        return;
    };
    // The oldest connection, and idle since long before the other: only its request in flight
    // keeps it from being the one closed.
    let mut busy = busy_from(&app, client(2)).await;
    let mut idle = idle_from(&app, client(3)).await;

    let _newcomer = idle_from(&app, client(4)).await;
    assert!(
        read_until_closed(&mut idle, BOUND).await.is_some(),
        "the idle connection was left open"
    );
    let answer = finish(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn a_new_client_waits_while_every_connection_is_busy() {
    let Some(app) = spawn(Backend::Sqlite, slots(1)).await else {
        return;
    };
    let mut busy = busy_from(&app, client(2)).await;
    let mut waiting = open_from(&app, client(3)).await;
    let mut waiting_answer = tokio::spawn(async move {
        healthz_on(&mut waiting).await;
    });
    // Nothing signals "accepted but held back", so the check gives the server a moment to
    // (wrongly) answer; a correct server passes however slow the machine.
    let served_early = tokio::time::timeout(Duration::from_millis(300), &mut waiting_answer).await;
    assert!(
        served_early.is_err(),
        "a connection was served beyond the limit"
    );
    // Answered, the busy connection is idle, and makes way.
    assert!(finish(&mut busy).await.starts_with("HTTP/1.1 200"));
    within("the waiting connection is served", waiting_answer)
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut busy, BOUND).await.is_some(),
        "the connection that made way was left open"
    );
}

async fn behind_a_trusted_proxy_connections_are_not_counted_per_address() {
    // Every connection comes from the proxy: a share per address would be the proxy's.
    let setup = slots(512)
        .var("HTTP__MAX_CONNECTIONS_PER_CLIENT", 1)
        .var("HTTP__TRUST_FORWARDED_FOR", true);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let mut first = idle_from(&app, client(2)).await;
    let _second = idle_from(&app, client(2)).await;
    within("the first connection answers", healthz_on(&mut first)).await;
}
