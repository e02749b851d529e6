//! Checks shared by several sections.

use super::error::{invalid, ConfigError};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// A count or duration that must be at least 1 and at most `max`.
pub(super) fn in_range(key: &str, value: u64, max: u64) -> Result<u64, ConfigError> {
    if value == 0 || value > max {
        Err(invalid(key, format!("expected 1 to {max}")))
    } else {
        Ok(value)
    }
}

pub(super) fn parse_http_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| {
        invalid(
            key,
            format!("{text:?} is not a URL ({e}); expected http(s)://..."),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(key, format!("{text:?}: expected an http(s) URL")));
    }
    Ok(url)
}

/// How a URL that may carry a credential (a password, a token in its query) is printed: those
/// parts replaced by a marker.
pub fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("redacted"));
    }
    if shown.query().is_some() {
        shown.set_query(Some("redacted"));
    }
    shown.to_string()
}

/// How a secret is printed: a marker, or nothing when it is not set.
pub(super) fn shown_secret(secret: &SecretString) -> String {
    if secret.expose_secret().is_empty() {
        String::new()
    } else {
        "[redacted]".to_owned()
    }
}
