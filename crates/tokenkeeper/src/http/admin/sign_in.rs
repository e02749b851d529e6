//! Who is signed in: a random id in a cookie, and the record it names held here, with its
//! expiry and its CSRF token. Only the id's SHA-256 is kept, so the table cannot be replayed
//! from a memory dump; ids and tokens are compared in constant time.

use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// The cookie naming a signed-in operator's record.
pub const COOKIE: &str = "tk_admin";
/// The cookie the sign-in form's CSRF token is checked against, before anyone is signed in.
pub const LOGIN_COOKIE: &str = "tk_admin_login";
/// An operator signs in again after this long, active or not.
pub const LIFETIME: Duration = Duration::hours(12);

#[derive(Clone)]
struct Record {
    csrf: String,
    expires_at: DateTime<Utc>,
}

/// The signed-in operators of this process. A restart signs everyone out, which is the safe
/// direction for a dashboard.
#[derive(Default)]
pub struct SignIns(Mutex<HashMap<[u8; 32], Record>>);

impl SignIns {
    /// A new record; returns the cookie's id. Expired records are dropped on the way.
    pub fn open(&self, now: DateTime<Utc>) -> String {
        let id = random_token();
        let mut records = self.0.lock().expect("sign-in lock");
        records.retain(|_, r| r.expires_at > now);
        records.insert(
            digest(&id),
            Record {
                csrf: random_token(),
                expires_at: now + LIFETIME,
            },
        );
        id
    }

    /// The CSRF token of the live record `id` names.
    fn csrf_of(&self, id: &str, now: DateTime<Utc>) -> Option<String> {
        let records = self.0.lock().expect("sign-in lock");
        records
            .get(&digest(id))
            .filter(|r| r.expires_at > now)
            .map(|r| r.csrf.clone())
    }

    pub fn close(&self, id: &str) {
        self.0.lock().expect("sign-in lock").remove(&digest(id));
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// A sign-in id or CSRF token: 32 random bytes, URL-safe.
pub fn random_token() -> String {
    crate::secret_values::random_token(32)
}

/// Constant-time equality of a submitted token and the expected one.
pub fn same_token(submitted: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(submitted.as_bytes().ct_eq(expected.as_bytes()))
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &'a str) -> Option<&'a str> {
    crate::http::cookies::cookie_values(headers, name).next()
}

/// A `Set-Cookie` value scoped to the dashboard; `None` clears the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(value) => format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// A signed-in operator, as a handler receives one. Requests without a live record are sent
/// to the sign-in form.
pub struct Operator {
    pub dashboard: Arc<super::Dashboard>,
    /// The token every form of the pages must send back.
    pub csrf: String,
    id: String,
}

impl Operator {
    /// Refuses a POST whose form does not carry this operator's CSRF token.
    pub fn check(&self, submitted: &str) -> Result<(), FormRefused> {
        if same_token(submitted, &self.csrf) {
            Ok(())
        } else {
            Err(FormRefused)
        }
    }

    pub fn sign_out(&self) {
        self.dashboard.sign_ins.close(&self.id);
    }
}

/// A POST without the operator's CSRF token: 403, and nothing done.
pub struct FormRefused;

impl IntoResponse for FormRefused {
    fn into_response(self) -> Response {
        super::super::pages::page(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This form did not carry its security token. Reload the page and try again.",
        )
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let dashboard = state
            .dashboard
            .clone()
            .ok_or_else(|| StatusCode::NOT_FOUND.into_response())?;
        let now = state.clock.now();
        let id = cookie(&parts.headers, COOKIE).unwrap_or_default();
        match dashboard.sign_ins.csrf_of(id, now) {
            Some(csrf) => Ok(Self {
                id: id.to_owned(),
                dashboard,
                csrf,
            }),
            None => Err(Redirect::to("/admin/login").into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_strict_http_only_and_secure_only_behind_https() {
        let plain = set_cookie(COOKIE, Some("id"), false);
        assert_eq!(plain, "tk_admin=id; Path=/admin; HttpOnly; SameSite=Strict");
        assert!(set_cookie(COOKIE, Some("id"), true).ends_with("; Secure"));
        assert!(set_cookie(COOKIE, None, true).contains("Max-Age=0"));
    }

    #[test]
    fn a_record_lives_until_its_expiry_and_ends_when_closed() {
        let signs = SignIns::default();
        let now = Utc::now();
        let id = signs.open(now);
        assert!(signs
            .csrf_of(&id, now + LIFETIME - Duration::seconds(1))
            .is_some());
        assert!(signs.csrf_of(&id, now + LIFETIME).is_none());
        assert!(signs.csrf_of("forged", now).is_none());
        signs.close(&id);
        assert!(signs.csrf_of(&id, now).is_none());
    }

    #[test]
    fn tokens_match_only_exactly_and_never_when_empty() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", ""));
    }
}
