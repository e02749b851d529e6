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
            format!(
                "{} is not a URL ({e}); expected http(s)://...",
                unparsed(text)
            ),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(
            key,
            format!("{:?}: expected an http(s) URL", redacted_url(&url)),
        ));
    }
    Ok(url)
}

/// A value that did not parse, as an error message shows it. A webhook URL may carry its
/// receiver's token in its query or a password before `@`; when the text has either, where
/// they end cannot be trusted, so none of it is shown.
fn unparsed(text: &str) -> String {
    if text.contains(['@', '?', '#']) {
        "the value (not shown: it may carry a credential)".to_string()
    } else {
        format!("{text:?}")
    }
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
