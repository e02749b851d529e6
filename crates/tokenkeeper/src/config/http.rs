//! The `[http]` section: where the service listens and how it holds against slow, large or
//! too many requests.

use super::error::{invalid, ConfigError};
use super::field::{optional, optional_url, shown, text, Count, In, Seconds, SixteenMiB};
use serde::{Deserialize, Deserializer, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    #[serde(deserialize_with = "bind")]
    pub bind: SocketAddr,
    /// How users' browsers reach this service; connect links and the OAuth redirect URI are
    /// built from it. `None` means "http://<bound address>", fine for local use.
    #[serde(with = "optional_url")]
    pub public_url: Option<Url>,
    /// Where `/metrics` is served; `None`: nowhere. Never on the public listener, which
    /// browsers and the internet may reach.
    #[serde(deserialize_with = "metrics_bind", serialize_with = "shown")]
    pub metrics_bind: Option<SocketAddr>,
    /// A client must have sent a request's whole head within this time (also the idle limit
    /// of a kept-alive connection).
    #[serde(rename = "header_timeout_seconds", with = "In::<Seconds, 1, 300>")]
    pub header_timeout: Duration,
    /// A request, body and answer included, must be done within this time.
    #[serde(rename = "request_timeout_seconds", with = "In::<Seconds, 1, 600>")]
    pub request_timeout: Duration,
    #[serde(with = "In::<Count, 1024, 16_777_216, SixteenMiB>")]
    pub body_limit_bytes: usize,
    /// After the shutdown signal, requests in flight get this long before connections close.
    #[serde(rename = "shutdown_grace_seconds", with = "In::<Seconds, 1, 300>")]
    pub shutdown_grace: Duration,
    /// Connections served at once per listener; when all are taken, the longest idle one is
    /// closed for a new client, and without an idle one new clients wait in the backlog.
    #[serde(with = "In::<Count, 1, 100_000>")]
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold open per listener; one more is
    /// refused. Not applied with `trust_forwarded_for`: every connection is then the proxy's.
    #[serde(with = "In::<Count, 1, 100_000>")]
    pub max_connections_per_client: usize,
    /// Requests per minute one client may make to the public endpoints, after a burst.
    #[serde(with = "In::<Count, 1, 1_000_000>")]
    pub rate_limit_per_minute: u32,
    #[serde(with = "In::<Count, 1, 1_000_000>")]
    pub rate_limit_burst: u32,
    /// Whether the client address is the last hop of `X-Forwarded-For` (set by a reverse proxy
    /// in front) rather than the connection's peer.
    pub trust_forwarded_for: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            bind: ([127, 0, 0, 1], 8080).into(),
            public_url: None,
            metrics_bind: None,
            header_timeout: Duration::from_secs(10),
            // Above the connect callback's worst case: two calls to LinkedIn and their retries.
            request_timeout: Duration::from_secs(60),
            body_limit_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
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

impl HttpSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.metrics_bind == Some(self.bind) && self.bind.port() != 0 {
            return Err(invalid(
                "http.metrics_bind",
                "must differ from http.bind: metrics are never served on the public listener",
            ));
        }
        Ok(())
    }
}

fn bind<'de, D: Deserializer<'de>>(address: D) -> Result<SocketAddr, D::Error> {
    text(address, |address| {
        address
            .parse()
            .map_err(|_| "expected an address like 127.0.0.1:8080".into())
    })
}

fn metrics_bind<'de, D: Deserializer<'de>>(address: D) -> Result<Option<SocketAddr>, D::Error> {
    optional(address, |address| {
        address.parse().map_err(|_| {
            "expected an address like 127.0.0.1:9090, or empty to serve no metrics".into()
        })
    })
}
