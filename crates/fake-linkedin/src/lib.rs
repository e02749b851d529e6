//! A faithful fake of LinkedIn's OAuth 2.0 endpoints: authorize, accessToken (both grants),
//! introspectToken and userinfo, with LinkedIn's quirks (no `token_type`, credentials in the
//! form body only, refresh tokens on a fixed 365-day clock, partner and non-partner apps) and
//! controls for tests: a movable clock, revocation, injected faults and call counters.
//!
//! # The other networks
//!
//! [`FakeNetwork::start`] runs a fake of X, Google, TikTok, Instagram, Threads or Facebook
//! ([`NetworkKind`]) on the network's own paths (see the URL methods of [`FakeNetwork`]),
//! written from what each network documents and what integrators report:
//!
//! | Network | Quirks the fake keeps |
//! |---|---|
//! | X | PKCE and `state` required; HTTP Basic required for confidential clients (`401 unauthorized_client` "Missing valid authorization header"); a refresh token only with `offline.access`; access tokens 2 h; single-use refresh tokens, and presenting a used one kills the whole grant; `400 invalid_request` where others say `invalid_grant` |
//! | Google | a refresh token only with `access_type=offline`, and on a later consent only with `prompt=consent`; none on refresh; refresh tokens die after 6 months unused, 7 days after consent for apps in testing (`google_testing_mode`), or when a member holds more than the limit (oldest first); `invalid_grant` "Token has been expired or revoked."; `/revoke` answers `invalid_token` for a dead token |
//! | TikTok | `client_key`, comma-separated scopes, credentials in the form body only (Basic is ignored); a refresh token always; it rotates, the old one stops working, and the chain keeps its end (`refresh_expires_in` counts down, 180 days); `{error, error_description, log_id}` bodies; revocation removes the app |
//! | Instagram, Threads | no refresh tokens: a one-hour token from the code exchange, a 60-day one from `ig_exchange_token` / `th_exchange_token`, renewed by `ig_refresh_token` / `th_refresh_token` only inside [issued + 24 h, expiry): too young is an `OAuthException` that is not 190, expired is 190 (subcode 463) |
//! | Facebook | no refresh tokens: `fb_exchange_token` turns a live token into a 60-day one (and is how one is kept alive); Graph errors `{"error": {"message", "type": "OAuthException", "code": 190, "error_subcode", "fbtrace_id"}}`; `DELETE /{user}/permissions` removes the app |
//!
//! They share the LinkedIn fake's machinery: the movable clock, [`Fault`]s (`Hold(Gate)`
//! included) per [`NetworkEndpoint`], call counters tests can wait on, revocation of a
//! member's grants, and the `/_fake/` control routes. Two checks serve simulations:
//! [`NetworkControls::accepts`] (would the network take this access token now?) and
//! [`NetworkControls::refresh_token_reuses`] (how often was a used single-use refresh token
//! presented again?). Where a network's answer is not documented (Instagram's body for a
//! token too young to refresh, TikTok's chain end on rotation, X's refresh-token life), the
//! fake says so where it answers. For benchmarks each network, like the LinkedIn fake, adds a
//! latency to its token calls and may renew tokens it never issued
//! ([`FakeNetworkConfig::token_latency`], [`FakeNetworkConfig::accept_unknown_tokens`]).

pub mod cli;
mod control;
mod machinery;
pub mod networks;
mod routes;
pub mod smtp;
mod state;

pub use state::{
    Consent, Endpoint, FakeConfig, Fault, Gate, InvalidRefreshStyle, Member, ScopeSeparator,
    SeededToken,
};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A running fake LinkedIn on a real socket. Dropping it stops the server.
pub struct FakeLinkedIn {
    server: machinery::Server,
    controls: Controls,
}

impl FakeLinkedIn {
    pub async fn start(config: FakeConfig) -> anyhow::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: FakeConfig) -> anyhow::Result<Self> {
        let controls = Controls(Arc::new(Mutex::new(state::State::new(config))));
        let server = machinery::Server::start(addr, routes::router(controls.clone())).await?;
        Ok(Self { server, controls })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/v2/authorization", self.base_url())
    }
    pub fn token_url(&self) -> String {
        format!("{}/oauth/v2/accessToken", self.base_url())
    }
    pub fn introspect_url(&self) -> String {
        format!("{}/oauth/v2/introspectToken", self.base_url())
    }
    pub fn userinfo_url(&self) -> String {
        format!("{}/v2/userinfo", self.base_url())
    }

    pub fn controls(&self) -> Controls {
        self.controls.clone()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await
    }
}

pub use control::Controls;
pub use networks::{FakeNetwork, FakeNetworkConfig, NetworkControls, NetworkEndpoint, NetworkKind};
