//! A faithful fake of LinkedIn's OAuth 2.0 endpoints: authorize, accessToken (both grants),
//! introspectToken and userinfo, with LinkedIn's quirks (no `token_type`, credentials in the
//! form body only, refresh tokens on a fixed 365-day clock, partner and non-partner apps) and
//! controls for tests: a movable clock, revocation, injected faults and call counters.

pub mod cli;
mod control;
mod machinery;
pub mod networks;
mod routes;
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
