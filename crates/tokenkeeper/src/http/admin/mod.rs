//! The operators' dashboard at `/admin`: server-rendered pages over the store, behind one
//! password (`admin.password_hash`). Off, and every `/admin` path a 404, without it.
//!
//! Signing in sets an HttpOnly, SameSite=Strict cookie naming a record held here with its
//! own expiry and CSRF token; every form carries that token and every POST is refused
//! without it. Pages show account states, never a token: they read token-free summaries, and
//! the one page that loads a whole account prints only whether a refresh token exists.

mod accounts;
mod attempts;
mod chart;
mod login;
mod outbox;
mod overview;
mod refusals;
mod render;
mod sign_in;
mod success;

pub use overview::{SuccessFigure, SuccessFigures};
pub use success::ReportFigures;

use super::AppState;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderValue, Method};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// What the dashboard keeps between requests. Built once per server when the dashboard is on.
pub struct Dashboard {
    templates: render::Templates,
    sign_ins: sign_in::SignIns,
    attempts: attempts::LoginAttempts,
    refusals: refusals::RefusalLog,
    /// Cookies carry `Secure` when the public URL is https.
    secure_cookies: bool,
    /// The success figures of the report, shown on the overview once a source is given.
    pub success: Option<Arc<dyn SuccessFigures>>,
}

impl Dashboard {
    pub fn new(secure_cookies: bool) -> Self {
        Self {
            templates: render::Templates::new(),
            sign_ins: sign_in::SignIns::default(),
            attempts: attempts::LoginAttempts::new(),
            refusals: refusals::RefusalLog::default(),
            secure_cookies,
            success: None,
        }
    }
}

/// Every route of the dashboard. The router is built from this list, and a test sends each
/// route that changes something a request without its CSRF token, so none escapes the check.
pub fn route_list() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/admin", get(overview::overview)),
        (Method::GET, "/admin/login", get(login::form)),
        (Method::POST, "/admin/login", post(login::sign_in)),
        (Method::POST, "/admin/logout", post(login::sign_out)),
        (Method::GET, "/admin/accounts", get(accounts::list)),
        (Method::GET, "/admin/accounts/{number}", get(accounts::one)),
        (
            Method::POST,
            "/admin/accounts/{number}/refresh",
            post(accounts::refresh_now),
        ),
        (
            Method::POST,
            "/admin/accounts/{number}/delete",
            post(accounts::delete),
        ),
        (
            Method::POST,
            "/admin/accounts/{number}/resend",
            post(accounts::resend_reconnect_email),
        ),
        (Method::GET, "/admin/runs", get(outbox::runs)),
        (Method::GET, "/admin/outbox", get(outbox::outbox)),
        (
            Method::POST,
            "/admin/outbox/{id}/retry",
            post(outbox::retry),
        ),
    ]
}

/// The dashboard's routes, to be merged when it is on.
pub fn routes() -> Router<AppState> {
    route_list()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
        // The other pages post no form anywhere; these post to themselves only.
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
}
