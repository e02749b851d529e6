//! What every fake shares, whatever network it plays: the server on a real socket, the
//! movable clock, queues of injected faults and how a fault answers, call counters that tests
//! can wait on, and the `/_fake/` control routes.

use crate::state::Fault;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// The fake clock is `base + (real time elapsed since it was set)`: it runs with real time
/// unless stopped, and tests jump it.
pub(crate) struct Clock {
    base: DateTime<Utc>,
    started: std::time::Instant,
    runs: bool,
}

impl Clock {
    pub fn new(start: DateTime<Utc>, runs: bool) -> Self {
        Self {
            base: start,
            started: std::time::Instant::now(),
            runs,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        if !self.runs {
            return self.base;
        }
        self.base + Duration::from_std(self.started.elapsed()).unwrap_or_else(|_| Duration::zero())
    }

    pub fn set(&mut self, t: DateTime<Utc>) {
        self.base = t;
        self.started = std::time::Instant::now();
    }
}

/// Faults waiting for the calls of each key (an endpoint, a member), applied in order; a
/// fault with a count is dropped once used that many times, one without stays.
pub(crate) struct FaultQueues<K>(HashMap<K, VecDeque<(Fault, Option<u32>)>>);

impl<K: Hash + Eq> Default for FaultQueues<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Hash + Eq> FaultQueues<K> {
    pub fn push(&mut self, key: K, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            return;
        }
        self.0.entry(key).or_default().push_back((fault, times));
    }

    pub fn take<Q>(&mut self, key: &Q) -> Option<Fault>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let queue = self.0.get_mut(key)?;
        let (fault, times) = queue.front_mut()?;
        let fault = fault.clone();
        if let Some(left) = times {
            *left -= 1;
            if *left == 0 {
                queue.pop_front();
            }
        }
        Some(fault)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Calls per endpoint, with a signal at every call so tests wait for "the network was
/// called" instead of polling.
pub(crate) struct CallCounter<E> {
    calls: HashMap<E, u64>,
    pub changed: std::sync::Arc<tokio::sync::Notify>,
}

impl<E: Hash + Eq + Copy> Default for CallCounter<E> {
    fn default() -> Self {
        Self {
            calls: HashMap::new(),
            changed: Default::default(),
        }
    }
}

impl<E: Hash + Eq + Copy> CallCounter<E> {
    pub fn record(&mut self, endpoint: E) {
        *self.calls.entry(endpoint).or_default() += 1;
        self.changed.notify_waiters();
    }

    pub fn get(&self, endpoint: E) -> u64 {
        self.calls.get(&endpoint).copied().unwrap_or(0)
    }

    pub fn clear(&mut self) {
        self.calls.clear();
    }
}

/// Completes once `reached` holds, looking again at every signal.
pub(crate) async fn wait_until(
    signal: impl Fn() -> std::sync::Arc<tokio::sync::Notify>,
    reached: impl Fn() -> bool,
) {
    loop {
        let signal = signal();
        let called = signal.notified();
        tokio::pin!(called);
        // Registered before looking, so a call in between is not missed.
        called.as_mut().enable();
        if reached() {
            return;
        }
        called.await;
    }
}

/// The member signed in to the network in the browser that asks for consent, from a
/// `fake_member=ID` cookie: a simulation plays many members through one HTTP client, and each
/// must come back as the same member when they reconnect. Without the cookie the fake's own
/// choice stands (the logged-in member, or a new one).
pub(crate) fn browser_member(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("fake_member="))
        .find(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
}

/// The answer a fault gives: `None` lets the endpoint answer normally (after any delay).
pub(crate) async fn apply(fault: Fault) -> Option<Response> {
    match fault {
        Fault::Latency(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            None
        }
        Fault::Hold(gate) => {
            gate.passed().await;
            None
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(
                (
                    status,
                    Json(json!({"message": "Internal Server Error", "status": code})),
                )
                    .into_response(),
            )
        }
        Fault::TooManyRequests { retry_after } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "message": "Resource level throttle limit for calls to this resource is reached.",
                    "status": 429
                })),
            )
                .into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.to_string().parse().unwrap());
            }
            Some(response)
        }
        Fault::Respond {
            status,
            headers,
            body,
        } => {
            let mut response = Response::new(axum::body::Body::from(body));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    header::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            Some(response)
        }
        Fault::Disconnect => {
            // Unwinding out of the handler makes the server drop the connection without a
            // response; resume_unwind skips the panic hook, so nothing is printed.
            std::panic::resume_unwind(Box::new("the fake hangs up"))
        }
    }
}

/// A fault as the `/_fake/faults` control route takes it:
/// {"status": 503} | {"too_many_requests": {"retry_after": 5}} | {"latency_ms": 200} | {"hang": true}
/// | {"respond": {"status": 400, "headers": {"Retry-After": "soon"}, "body": "..."}}
/// | {"disconnect": true}
pub(crate) fn parse_fault(f: &serde_json::Value) -> Option<Fault> {
    Some(
        if let Some(code) = f.get("status").and_then(|v| v.as_u64()) {
            Fault::Status(code as u16)
        } else if let Some(t) = f.get("too_many_requests") {
            Fault::TooManyRequests {
                retry_after: t.get("retry_after").and_then(|v| v.as_u64()),
            }
        } else if let Some(ms) = f.get("latency_ms").and_then(|v| v.as_u64()) {
            Fault::Latency(std::time::Duration::from_millis(ms))
        } else if f.get("hang").is_some() {
            Fault::Hang
        } else if let Some(r) = f.get("respond") {
            Fault::Respond {
                status: r.get("status").and_then(|v| v.as_u64()).unwrap_or(200) as u16,
                headers: r
                    .get("headers")
                    .and_then(|h| h.as_object())
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default(),
                body: r
                    .get("body")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned(),
            }
        } else if f.get("disconnect").is_some() {
            Fault::Disconnect
        } else {
            return None;
        },
    )
}

/// What the `/_fake/` routes need from a fake's controls.
pub(crate) trait ControlRoutes: Clone + Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn set_now(&self, t: DateTime<Utc>);
    fn advance(&self, d: Duration);
    fn revoke_member(&self, member: &str);
    fn clear_faults(&self);
    /// Injects the fault described by the request, or says why it cannot.
    fn add_fault(&self, request: FaultRequest) -> Result<(), String>;
    fn stats(&self) -> serde_json::Value;
}

#[derive(Deserialize)]
pub(crate) struct FaultRequest {
    pub endpoint: String,
    /// See [`parse_fault`].
    pub fault: serde_json::Value,
    pub times: Option<u32>,
    /// Applies the fault to this member's refresh grants only.
    pub member: Option<String>,
}

/// The control routes every fake serves under `/_fake/`, so that other processes (the demo,
/// benchmarks) can drive it over HTTP.
pub(crate) fn control_routes<C: ControlRoutes>() -> Router<C> {
    Router::new()
        .route("/_fake/clock", post(set_clock::<C>))
        .route("/_fake/revoke", post(revoke::<C>))
        .route("/_fake/faults", post(add_fault::<C>))
        .route("/_fake/faults", delete(clear_faults::<C>))
        .route("/_fake/stats", axum::routing::get(stats::<C>))
}

#[derive(Deserialize)]
struct ClockChange {
    now: Option<DateTime<Utc>>,
    advance_seconds: Option<i64>,
}

async fn set_clock<C: ControlRoutes>(
    State(controls): State<C>,
    Json(change): Json<ClockChange>,
) -> Response {
    if let Some(now) = change.now {
        controls.set_now(now);
    }
    if let Some(secs) = change.advance_seconds {
        controls.advance(Duration::seconds(secs));
    }
    Json(json!({"now": controls.now()})).into_response()
}

#[derive(Deserialize)]
struct Revoke {
    sub: String,
}

async fn revoke<C: ControlRoutes>(State(controls): State<C>, Json(r): Json<Revoke>) -> StatusCode {
    controls.revoke_member(&r.sub);
    StatusCode::NO_CONTENT
}

async fn add_fault<C: ControlRoutes>(
    State(controls): State<C>,
    Json(req): Json<FaultRequest>,
) -> Response {
    match controls.add_fault(req) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

async fn clear_faults<C: ControlRoutes>(State(controls): State<C>) -> StatusCode {
    controls.clear_faults();
    StatusCode::NO_CONTENT
}

async fn stats<C: ControlRoutes>(State(controls): State<C>) -> Response {
    Json(controls.stats()).into_response()
}

/// Runs the request to its end even when the client hangs up first, as a network's server
/// does: a refresh whose answer never reached the client has still rotated its token.
pub(crate) async fn finish_unattended(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        // Fault::Disconnect unwinds to drop the connection: carry it on.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A router served on a real socket until stopped. Dropping it stops the server.
pub(crate) struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn start(addr: SocketAddr, app: Router) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // An answer written in two parts (head, then body) must not wait for the client's
        // delayed ACK: 40 ms per call would be the fake's latency, not the network's.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // A hanging request (Fault::Hang) must not keep shutdown waiting.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
