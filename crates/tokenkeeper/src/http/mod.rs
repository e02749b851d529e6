//! The HTTP face of tokenkeeper: the connect flow users' browsers walk through, the API the
//! host app calls, and health. Errors become responses in one place (`error.rs`).

mod api;
mod browser;
mod connect;
mod error;
mod pages;

pub use pages::escape as escape_html;

use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::Clock;
use crate::linkedin::LinkedInClient;
use crate::store::Store;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use url::Url;

pub const CALLBACK_PATH: &str = "/oauth/linkedin/callback";

/// Everything a request handler may need, shared by all of them.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub linkedin: LinkedInClient,
    pub links: ConnectLinks,
    pub clock: Arc<dyn Clock>,
    /// Where users' browsers reach us; the OAuth redirect URI is derived from it.
    pub public_url: Url,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    pub fn redirect_uri(&self) -> Url {
        self.public_url
            .join(CALLBACK_PATH)
            .expect("a path joins any base")
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(crate::connect_link::CONNECT_PATH, get(connect::start))
        .route(CALLBACK_PATH, get(connect::callback))
        .route("/api/v1/connect-links", post(api::create_connect_link))
        .route("/api/v1/accounts/{user_id}", get(api::account))
        .route("/healthz", get(health))
        .route("/metrics", get(render_metrics))
        .fallback(error::not_found)
        .with_state(state)
}

async fn health() -> &'static str {
    "ok"
}

async fn render_metrics(axum::extract::State(app): axum::extract::State<AppState>) -> String {
    app.metrics.render()
}
