//! A faithful fake of LinkedIn's OAuth 2.0 endpoints: authorize, accessToken (both grants),
//! introspectToken and userinfo, with LinkedIn's quirks (no `token_type`, credentials in the
//! form body only, refresh tokens on a fixed 365-day clock, partner and non-partner apps) and
//! controls for tests: a movable clock, revocation, injected faults and call counters.

pub mod cli;
mod control;
mod routes;
mod state;

pub use state::{
    Consent, Endpoint, FakeConfig, Fault, Gate, InvalidRefreshStyle, Member, ScopeSeparator,
    SeededToken,
};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A running fake LinkedIn on a real socket. Dropping it stops the server.
pub struct FakeLinkedIn {
    addr: SocketAddr,
    controls: Controls,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeLinkedIn {
    pub async fn start(config: FakeConfig) -> anyhow::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: FakeConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let controls = Controls(Arc::new(Mutex::new(state::State::new(config))));
        let app = routes::router(controls.clone());
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
            controls,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
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

impl Drop for FakeLinkedIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub use control::Controls;
