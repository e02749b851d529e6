//! Signing in and out. Attempts are rate limited per client and in total before the password
//! is checked, so guessing is slow from one address and from many, and argon2's cost cannot be
//! turned against the process. The password is never logged, echoed or kept.

use super::sign_in::{self, Operator, COOKIE, LOGIN_COOKIE};
use crate::http::rate_limit::client_key;
use crate::http::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use minijinja::context;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

/// Attempts one client may make in a burst, then one every 12 seconds.
const PER_CLIENT: u32 = 5;
/// Attempts all clients together may make in a burst, then one every 2 seconds.
const GLOBAL: u32 = 30;

pub struct LoginAttempts {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
}

impl LoginAttempts {
    pub fn new() -> Self {
        let quota = |burst: u32| {
            let burst = NonZeroU32::new(burst).expect("a burst above zero");
            Quota::per_minute(burst).allow_burst(burst)
        };
        Self {
            per_client: RateLimiter::keyed(quota(PER_CLIENT)),
            global: RateLimiter::direct(quota(GLOBAL)),
        }
    }

    /// Whether `client` may try now; each call counts as an attempt.
    fn allow(&self, client: IpAddr) -> bool {
        self.per_client.retain_recent();
        self.per_client.check_key(&client).is_ok() && self.global.check().is_ok()
    }
}

#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// The sign-in form, with a fresh CSRF token in a cookie and in the form.
pub async fn form(State(app): State<AppState>) -> Response {
    let Some(dashboard) = app.dashboard.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    login_page(&dashboard, StatusCode::OK, None)
}

fn login_page(dashboard: &super::Dashboard, status: StatusCode, refused: Option<&str>) -> Response {
    let token = sign_in::random_token();
    let mut page = dashboard.templates.page(
        status,
        "login.html",
        context! { title => "Sign in", login_csrf => &token, refused },
    );
    let cookie = sign_in::set_cookie(LOGIN_COOKIE, Some(&token), dashboard.secure_cookies);
    page.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a token is a header value"),
    );
    page
}

pub async fn sign_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Response {
    let Some(dashboard) = app.dashboard.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let client = client_key(&headers, peer, app.config.http.trust_forwarded_for);
    if !dashboard.attempts.allow(client) {
        tracing::warn!(%client, "dashboard sign-in refused: too many attempts");
        let mut page = super::super::pages::page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts",
            "Too many attempts to sign in were made in a short time. Wait a minute, then try again.",
        );
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return page;
    }
    let expected = sign_in::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !sign_in::same_token(&credentials.csrf, expected) {
        return login_page(
            &dashboard,
            StatusCode::FORBIDDEN,
            Some("The form had expired. Enter the password again."),
        );
    }
    if !crate::config::password_matches(&app.config.admin, &credentials.password) {
        tracing::warn!(%client, "dashboard sign-in refused: wrong password");
        return login_page(
            &dashboard,
            StatusCode::UNAUTHORIZED,
            Some("Wrong password."),
        );
    }
    let id = dashboard.sign_ins.open(app.clock.now());
    tracing::info!(%client, "operator signed in to the dashboard");
    let mut response = Redirect::to("/admin").into_response();
    let secure = dashboard.secure_cookies;
    for cookie in [
        sign_in::set_cookie(COOKIE, Some(&id), secure),
        sign_in::set_cookie(LOGIN_COOKIE, None, secure),
    ] {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).expect("a token is a header value"),
        );
    }
    response
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn sign_out(operator: Operator, Form(form): Form<CsrfOnly>) -> Response {
    if let Err(refused) = operator.check(&form.csrf) {
        return refused.into_response();
    }
    operator.sign_out();
    let mut response = Redirect::to("/admin/login").into_response();
    let cookie = sign_in::set_cookie(COOKIE, None, operator.dashboard.secure_cookies);
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a cookie is a header value"),
    );
    response
}
