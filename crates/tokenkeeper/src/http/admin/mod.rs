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
use axum::http::HeaderValue;
use axum::routing::{get, post};
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

/// The dashboard's routes, to be merged when it is on.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(overview::overview))
        .route("/admin/login", get(login::form).post(login::sign_in))
        .route("/admin/logout", post(login::sign_out))
        .route("/admin/accounts", get(accounts::list))
        .route("/admin/accounts/{number}", get(accounts::one))
        .route(
            "/admin/accounts/{number}/refresh",
            post(accounts::refresh_now),
        )
        .route("/admin/accounts/{number}/delete", post(accounts::delete))
        .route(
            "/admin/accounts/{number}/resend",
            post(accounts::resend_reconnect_email),
        )
        .route("/admin/runs", get(outbox::runs))
        .route("/admin/outbox", get(outbox::outbox))
        .route("/admin/outbox/{id}/retry", post(outbox::retry))
        // The other pages post no form anywhere; these post to themselves only.
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ))
}
