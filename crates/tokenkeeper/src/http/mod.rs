//! The HTTP face of tokenkeeper: the connect flow users' browsers walk through, the API the
//! host app calls, and health. Errors become responses in one place (`error.rs`); `server.rs`
//! serves the routers with timeouts and a shutdown deadline.

mod account_actions;
mod account_list;
mod admin;
mod api;
mod api_import;
mod api_key;
mod browser;
mod connect;
mod connections;
mod cookies;
mod cursor;
mod demand_outcome;
mod error;
mod forecast;
mod headers;
mod json_body;
mod openapi;
mod pages;
mod provider_param;
mod rate_limit;
mod readyz;
mod server;

pub use admin::{
    route_list as dashboard_routes, Dashboard, ReportFigures, SuccessFigure, SuccessFigures,
};
pub use error::UNCOMPLETABLE_SIGN_IN_TITLE;
pub use rate_limit::{PublicRateLimit, FORGET_IDLE_EVERY};
pub use server::{serve, Listeners};

use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::{Clock, ProviderName};
use crate::provider::Providers;
use crate::refresh::RefreshEngine;
use crate::store::{AccountStore, AdminStore, ConnectStore, HostApiStore};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tower_http::timeout::TimeoutLayer;
use url::Url;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const CALLBACK_PATH: &str = "/oauth/linkedin/callback";

/// Everything a request handler may need, shared by all of them. A handle: the router clones
/// its state into every layer and handler a request passes through (two dozen clones per API
/// read), so the parts live once behind an `Arc` and a clone is one reference count, not a
/// copy of the configuration and the LinkedIn client's settings.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }

    /// For setting up before serving. A clone handed out earlier keeps what it had, as it
    /// did when clones were copies.
    pub fn make_mut(&mut self) -> &mut SharedState {
        Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// What `AppState` shares.
#[derive(Clone)]
pub struct SharedState {
    pub config: Arc<Config>,
    /// The connect flow's attempts, its links' single use and the accounts it links.
    pub connect: Arc<dyn ConnectStore>,
    /// The host API's account list, deletion and forecast (the dashboard shows the last two).
    pub host_api: Arc<dyn HostApiStore>,
    /// One account at a time, by user or by id.
    pub accounts: Arc<dyn AccountStore>,
    /// The dashboard's reads and its two writes.
    pub admin: Arc<dyn AdminStore>,
    /// The API's token reads, gathered into shared statements under load.
    pub token_reads: crate::token_reads::TokenReads,
    /// The connect flow's networks (LinkedIn's, on its own paths).
    pub providers: Providers,
    /// Refreshes on the host app's demand go through the sweep's own engine.
    pub engine: RefreshEngine,
    pub links: ConnectLinks,
    pub clock: Arc<dyn Clock>,
    /// Where users' browsers reach us; the OAuth redirect URI is derived from it.
    pub public_url: Url,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Background tasks down and waiting to be restarted: `/healthz` fails while any is.
    pub tasks: crate::workers::TaskHealth,
    /// What `/readyz` checks.
    pub readiness: crate::readiness::Readiness,
    /// `POST /api/v1/accounts` imports through it, paced with the sweep's calls.
    pub importer: crate::import::Importer,
    /// The operators' dashboard at `/admin`; `None` when `admin.password_hash` is not set.
    pub dashboard: Option<Arc<Dashboard>>,
    /// The success report over the last month, as the gauges last showed it.
    pub success_report: crate::report::LatestReport,
}

impl SharedState {
    /// LinkedIn's redirect URI.
    pub fn redirect_uri(&self) -> Url {
        self.redirect_uri_of(ProviderName::linkedin_ref())
    }

    /// Where `provider` sends the browser back: `/oauth/{provider}/callback`.
    pub fn redirect_uri_of(&self, provider: &ProviderName) -> Url {
        self.public_url
            .join(&callback_path(provider))
            .expect("a path joins any base")
    }
}

/// `provider`'s callback path (LinkedIn's is [`CALLBACK_PATH`]).
pub fn callback_path(provider: &ProviderName) -> String {
    format!("/oauth/{provider}/callback")
}

fn router(state: AppState, rate_limit: &PublicRateLimit) -> Router {
    // What anyone on the internet may call; each call costs a database write.
    let public = Router::new()
        .route("/connect/{provider}", get(connect::start))
        .route("/oauth/{provider}/callback", get(connect::callback))
        .route_layer(rate_limit.layer());
    let api = host_api()
        .0
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api_key::require_api_key,
        ));
    let dashboard = match state.dashboard {
        Some(_) => admin::routes(),
        None => Router::new(),
    };
    let limits = &state.config.http;
    let routes = Router::new()
        .merge(public)
        .merge(api)
        .merge(dashboard)
        .route("/healthz", get(health))
        .route("/readyz", get(readyz::public))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .with_state(state);
    headers::with_protective_headers(routes)
}

/// The host API, behind the key: each route is declared once, with its handler's OpenAPI
/// description (`#[utoipa::path]`), and the router and the document are both built from that.
fn host_api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) =
        OpenApiRouter::with_openapi(<openapi::HostApiDoc as utoipa::OpenApi>::openapi())
            .routes(routes!(api::create_connect_link))
            .routes(routes!(
                account_list::list_accounts,
                api_import::import_account
            ))
            .routes(routes!(api::account, account_actions::delete_account))
            .routes(routes!(account_actions::refresh_now))
            .routes(routes!(account_actions::report_invalid))
            .routes(routes!(forecast::forecast))
            .routes(routes!(openapi::openapi_json))
            .split_for_parts();
    openapi::declare_shared_answers(&mut document);
    (router, document)
}

/// Every route of the host API (method, path), read from the router's own document.
pub fn api_routes() -> Vec<(Method, String)> {
    let document = openapi_document();
    document
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            methods
                .into_iter()
                .filter(|(_, served)| *served)
                .map(move |(method, _)| (method, path.clone()))
        })
        .collect()
}

/// The host API's OpenAPI document, as served.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::LazyLock<utoipa::openapi::OpenApi> =
        std::sync::LazyLock::new(|| host_api().1);
    DOCUMENT.clone()
}

/// `/metrics` on a listener of its own: what the counters say is for operators only; so is
/// readiness in full.
fn metrics_router(state: &AppState) -> Router {
    let metrics = state.metrics.clone();
    let readiness = state.readiness.clone();
    let routes = Router::new()
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/readyz", get(move || readyz::private(readiness.clone())))
        .fallback(error::not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.http.request_timeout,
        ));
    headers::with_protective_headers(routes)
}

/// `ok`, or 503 naming the background tasks that died and are not yet restarted: a service
/// that answers requests but no longer refreshes or mails is not healthy.
async fn health(State(state): State<AppState>) -> Response {
    let down = state.tasks.down();
    if down.is_empty() {
        return "ok".into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("down: {}", down.join(", ")),
    )
        .into_response()
}
