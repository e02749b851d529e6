//! The `[http]` section: where the service listens and how it holds against slow, large or
//! too many requests.

use super::check::{in_range, parse_http_url};
use super::error::{invalid, ConfigError};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawHttp {
    pub bind: String,
    pub public_url: String,
    pub metrics_bind: String,
    pub header_timeout_seconds: u64,
    pub request_timeout_seconds: u64,
    pub body_limit_bytes: u64,
    pub shutdown_grace_seconds: u64,
    pub max_connections: u64,
    pub max_connections_per_client: u64,
    pub rate_limit_per_minute: u64,
    pub rate_limit_burst: u64,
    pub trust_forwarded_for: bool,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: String::new(),
            metrics_bind: String::new(),
            header_timeout_seconds: 10,
            // Above the connect callback's worst case: two calls to LinkedIn and their retries.
            request_timeout_seconds: 60,
            body_limit_bytes: 64 * 1024,
            shutdown_grace_seconds: 10,
            // Well under the usual limit of 1024 open files, which the database and the calls
            // to LinkedIn and the SMTP server need too.
            max_connections: 512,
            // A host app's connection pool or a few dozen browsers behind one NAT fit; one
            // client holding many keeps at most an eighth of the default slots.
            max_connections_per_client: 64,
            rate_limit_per_minute: 120,
            rate_limit_burst: 60,
            trust_forwarded_for: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub bind: SocketAddr,
    /// How users' browsers reach this service; connect links and the OAuth redirect URI are
    /// built from it. `None` means "http://<bound address>", fine for local use.
    pub public_url: Option<Url>,
    /// Where `/metrics` is served; `None`: nowhere. Never on the public listener, which
    /// browsers and the internet may reach.
    pub metrics_bind: Option<SocketAddr>,
    /// A client must have sent a request's whole head within this time (also the idle limit
    /// of a kept-alive connection).
    pub header_timeout: Duration,
    /// A request, body and answer included, must be done within this time.
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    /// After the shutdown signal, requests in flight get this long before connections close.
    pub shutdown_grace: Duration,
    /// Connections served at once per listener; when all are taken, the longest idle one is
    /// closed for a new client, and without an idle one new clients wait in the backlog.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold open per listener; one more is
    /// refused. Not applied with `trust_forwarded_for`: every connection is then the proxy's.
    pub max_connections_per_client: usize,
    /// Requests per minute one client may make to the public endpoints, after a burst.
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    /// Whether the client address is the last hop of `X-Forwarded-For` (set by a reverse proxy
    /// in front) rather than the connection's peer.
    pub trust_forwarded_for: bool,
}

impl TryFrom<RawHttp> for HttpSettings {
    type Error = ConfigError;

    fn try_from(h: RawHttp) -> Result<Self, ConfigError> {
        let bind: SocketAddr = h
            .bind
            .parse()
            .map_err(|_| invalid("http.bind", "expected an address like 127.0.0.1:8080"))?;
        let public_url = match h.public_url.as_str() {
            "" => None,
            text => Some(parse_http_url("http.public_url", text)?),
        };
        let metrics_bind = match h.metrics_bind.as_str() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                invalid(
                    "http.metrics_bind",
                    "expected an address like 127.0.0.1:9090, or empty to serve no metrics",
                )
            })?),
        };
        if metrics_bind.is_some_and(|m: SocketAddr| m == bind && m.port() != 0) {
            return Err(invalid(
                "http.metrics_bind",
                "must differ from http.bind: metrics are never served on the public listener",
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&h.body_limit_bytes) {
            return Err(invalid(
                "http.body_limit_bytes",
                "expected 1024 to 16777216 (16 MiB)",
            ));
        }
        Ok(HttpSettings {
            bind,
            public_url,
            metrics_bind,
            header_timeout: Duration::from_secs(in_range(
                "http.header_timeout_seconds",
                h.header_timeout_seconds,
                300,
            )?),
            request_timeout: Duration::from_secs(in_range(
                "http.request_timeout_seconds",
                h.request_timeout_seconds,
                600,
            )?),
            body_limit_bytes: h.body_limit_bytes as usize,
            shutdown_grace: Duration::from_secs(in_range(
                "http.shutdown_grace_seconds",
                h.shutdown_grace_seconds,
                300,
            )?),
            max_connections: in_range("http.max_connections", h.max_connections, 100_000)? as usize,
            max_connections_per_client: in_range(
                "http.max_connections_per_client",
                h.max_connections_per_client,
                100_000,
            )? as usize,
            rate_limit_per_minute: in_range(
                "http.rate_limit_per_minute",
                h.rate_limit_per_minute,
                1_000_000,
            )? as u32,
            rate_limit_burst: in_range("http.rate_limit_burst", h.rate_limit_burst, 1_000_000)?
                as u32,
            trust_forwarded_for: h.trust_forwarded_for,
        })
    }
}

/// The section as printed.
impl From<&HttpSettings> for RawHttp {
    fn from(h: &HttpSettings) -> Self {
        RawHttp {
            bind: h.bind.to_string(),
            public_url: h
                .public_url
                .as_ref()
                .map(Url::to_string)
                .unwrap_or_default(),
            metrics_bind: h.metrics_bind.map(|m| m.to_string()).unwrap_or_default(),
            header_timeout_seconds: h.header_timeout.as_secs(),
            request_timeout_seconds: h.request_timeout.as_secs(),
            body_limit_bytes: h.body_limit_bytes as u64,
            shutdown_grace_seconds: h.shutdown_grace.as_secs(),
            max_connections: h.max_connections as u64,
            max_connections_per_client: h.max_connections_per_client as u64,
            rate_limit_per_minute: u64::from(h.rate_limit_per_minute),
            rate_limit_burst: u64::from(h.rate_limit_burst),
            trust_forwarded_for: h.trust_forwarded_for,
        }
    }
}
