//! Checks shared by several sections.

use super::error::{invalid, ConfigError};
use super::field::http_url;
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
    http_url(text).map_err(|message| invalid(key, message))
}

/// How a secret is printed: a marker, or nothing when it is not set.
pub(super) fn shown_secret(secret: &SecretString) -> String {
    if secret.expose_secret().is_empty() {
        String::new()
    } else {
        "[redacted]".to_owned()
    }
}
