//! The browser's side of the connect flow: a random nonce in a cookie, set when a flow starts
//! and required when it ends. Only its hash is stored with the attempt, so a callback URL
//! (with its `state`) is worthless in any other browser: an attacker cannot have a victim
//! finish his attempt, nor finish or use up the victim's.

use super::cookies::cookie_values;
use crate::secret_values::{hex_sha256, is_random_token, random_token};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};

const NONCE_BYTES: usize = 32;

/// The nonce of one browser. Reused while the cookie lives, so that two tabs of the same
/// browser can each finish their own attempt.
pub struct BrowserNonce(String);

/// The cookie's name. Over https it carries the `__Host-` prefix, which browsers accept only
/// with `Secure`, `Path=/` and no `Domain`: a neighbouring subdomain cannot plant its own.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tokenkeeper_browser"
    } else {
        "tokenkeeper_browser"
    }
}

impl BrowserNonce {
    /// The nonce the request's cookie carries, if it has a well-formed one.
    pub fn from_request(headers: &HeaderMap, secure: bool) -> Option<Self> {
        cookie_values(headers, cookie_name(secure))
            .find(|value| is_random_token(value, NONCE_BYTES))
            .map(|value| Self(value.to_owned()))
    }

    pub fn new() -> Self {
        Self(random_token(NONCE_BYTES))
    }

    /// What the attempt stores: the database alone cannot act as the browser.
    pub fn hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }

    /// Sets (or renews) the cookie for as long as an attempt may stay open. `Lax` still sends
    /// it on the top-level redirect back from LinkedIn; scripts never see it.
    pub fn set_cookie(&self, headers: &mut HeaderMap, secure: bool, max_age_seconds: i64) {
        let mut cookie = format!(
            "{}={}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax",
            cookie_name(secure),
            self.0
        );
        if secure {
            cookie.push_str("; Secure");
        }
        let value = HeaderValue::from_str(&cookie).expect("the cookie is plain ASCII");
        headers.append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::COOKIE;

    fn request_with(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn the_cookie_set_is_the_cookie_read() {
        let nonce = BrowserNonce::new();
        let mut response = HeaderMap::new();
        nonce.set_cookie(&mut response, true, 900);
        let set = response.get(SET_COOKIE).unwrap().to_str().unwrap();
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=900",
        ] {
            assert!(set.contains(attribute), "{set}");
        }
        let pair = set.split(';').next().unwrap();
        let read = BrowserNonce::from_request(&request_with(&format!("a=b; {pair}")), true);
        assert_eq!(read.map(|n| n.hash()), Some(nonce.hash()));
        // An https cookie is not taken for an http one, nor the other way round.
        assert!(BrowserNonce::from_request(&request_with(pair), false).is_none());
    }

    #[test]
    fn a_malformed_cookie_of_our_name_does_not_hide_the_real_one() {
        let nonce = BrowserNonce::new();
        let mut response = HeaderMap::new();
        nonce.set_cookie(&mut response, false, 60);
        let set = response.get(SET_COOKIE).unwrap().to_str().unwrap();
        let pair = set.split(';').next().unwrap();
        let read = BrowserNonce::from_request(
            &request_with(&format!("tokenkeeper_browser=planted; {pair}")),
            false,
        );
        assert_eq!(read.map(|n| n.hash()), Some(nonce.hash()));
    }

    #[test]
    fn plain_http_cookies_are_not_secure() {
        let mut response = HeaderMap::new();
        BrowserNonce::new().set_cookie(&mut response, false, 60);
        let set = response.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(set.starts_with("tokenkeeper_browser="));
        assert!(!set.contains("Secure"));
    }

    #[test]
    fn malformed_nonces_are_ignored() {
        for bad in [
            "tokenkeeper_browser=",
            "tokenkeeper_browser=short",
            "tokenkeeper_browser=!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(
                BrowserNonce::from_request(&request_with(bad), false).is_none(),
                "{bad}"
            );
        }
    }
}
