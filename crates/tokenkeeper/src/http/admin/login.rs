//! Signing in and out. A sign-in is looked at only when its form carries the token the form's
//! page set: anything else is refused at once, costing no attempt and no password check, so
//! posts that never loaded the form cannot use up anyone's attempts. Then the client's
//! attempts are counted, and the password checked in turn with everyone's (`attempts.rs`).
//! Refusals are logged at a bounded rate (`refusals.rs`). The password is never logged,
//! echoed or kept.

use super::refusals::Refusal;
use super::sign_in::{self, Operator, COOKIE, LOGIN_COOKIE};
use crate::http::rate_limit::client_key;
use crate::http::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use std::net::SocketAddr;

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
    let refused = |refusal| dashboard.refusals.refused(refusal, client, app.clock.now());
    let expected = sign_in::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !sign_in::same_token(&credentials.csrf, expected) {
        refused(Refusal::NoFormToken);
        return login_page(
            &dashboard,
            StatusCode::FORBIDDEN,
            Some("The form had expired. Enter the password again."),
        );
    }
    if !dashboard.attempts.allow(client) {
        refused(Refusal::TooManyAttempts);
        let mut page = super::super::pages::page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts",
            "Too many attempts to sign in were made in a short time. Wait a minute, then try again.",
        );
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return page;
    }
    let matches = dashboard
        .attempts
        .password_matches(app.config.clone(), credentials.password)
        .await;
    if !matches {
        refused(Refusal::WrongPassword);
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
