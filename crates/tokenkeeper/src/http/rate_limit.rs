//! Per-client rate limit of the public endpoints (the connect link and the OAuth callback):
//! each opens or consumes a sign-in attempt in the database, so one client must not be able to
//! make them without bound. Past the limit the answer is 429, a short page and `Retry-After`.

use super::pages::page;
use crate::config::HttpSettings;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use governor::middleware::NoOpMiddleware;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

/// How often the limiter forgets the clients whose quota is full again.
pub const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// One limiter, shared by every public route of a server, and forgotten client addresses
/// swept out of it now and then so its memory stays bounded.
#[derive(Clone)]
pub struct PublicRateLimit {
    config: Arc<GovernorConfig<ClientAddress, NoOpMiddleware>>,
}

impl PublicRateLimit {
    pub fn new(settings: &HttpSettings) -> Self {
        let config = GovernorConfigBuilder::default()
            .period(Duration::from_secs(60) / settings.rate_limit_per_minute)
            .burst_size(settings.rate_limit_burst)
            .key_extractor(ClientAddress {
                trust_forwarded_for: settings.trust_forwarded_for,
            })
            .finish()
            .expect("the configuration checks keep the rate and the burst above zero");
        Self {
            config: Arc::new(config),
        }
    }

    pub fn layer(&self) -> GovernorLayer<ClientAddress, NoOpMiddleware, Body> {
        GovernorLayer::new(self.config.clone()).error_handler(refusal)
    }

    /// Drops the state of clients whose quota is full again; `serve` does it every
    /// [`FORGET_IDLE_EVERY`] (`workers/rate_limit_cleaner.rs`).
    pub fn forget_idle_clients(&self) {
        let limiter = self.config.limiter();
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

fn refusal(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut response = page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "This address has made too many requests in a short time. Wait a minute, then try again.",
            );
            // The limiter rounds the wait down; a client that waits exactly that long would be
            // refused again.
            response.headers_mut().insert(
                "retry-after",
                HeaderValue::from(wait_time.saturating_add(1)),
            );
            response
        }
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            tracing::error!("rate limit: the client address is unknown");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Try again in a few minutes.",
            )
        }
    }
}

/// Who a request counts against: the connection's peer, or the last hop a trusted reverse
/// proxy appended to `X-Forwarded-For`. IPv6 clients count per /64, the block one subscriber
/// usually holds, so rotating addresses inside it gains nothing.
#[derive(Clone, Debug)]
pub struct ClientAddress {
    trust_forwarded_for: bool,
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        let forwarded = self
            .trust_forwarded_for
            .then(|| last_forwarded_for(request.headers()))
            .flatten();
        let peer = || {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        };
        forwarded
            .or_else(peer)
            .map(rate_limit_key)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// The key a request counts under, for limits applied inside a handler (the dashboard's
/// sign-in): the same rule as the public routes' layer.
pub fn client_key(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| last_forwarded_for(headers))
        .flatten();
    rate_limit_key(forwarded.unwrap_or(peer.ip()))
}

/// Only the last entry is the proxy's own; earlier ones are whatever the client wrote.
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last_header = headers.get_all("x-forwarded-for").iter().next_back()?;
    // Read as bytes: a client's own non-ASCII entry earlier in the line must not make the
    // proxy's hop unreadable (the client would then count as the proxy itself).
    let last_hop = last_header.as_bytes().rsplit(|b| *b == b',').next()?;
    std::str::from_utf8(last_hop).ok()?.trim().parse().ok()
}

pub(super) fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_limit_key(a), rate_limit_key(b));
        assert_ne!(rate_limit_key(a), rate_limit_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            rate_limit_key(mapped),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn only_the_proxys_own_hop_of_x_forwarded_for_counts() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.4".parse().unwrap());
        assert_eq!(
            last_forwarded_for(&headers),
            Some("198.51.100.4".parse().unwrap())
        );
    }

    #[test]
    fn a_clients_non_ascii_entry_does_not_hide_the_proxys_hop() {
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9").unwrap(),
        );
        assert_eq!(
            last_forwarded_for(&headers),
            Some("203.0.113.9".parse().unwrap())
        );
    }
}
