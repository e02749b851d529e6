//! The `[linkedin]` section: the LinkedIn app's credentials, its endpoints and how long to
//! wait for it.

use super::check::{in_range, parse_http_url, shown_secret};
use super::error::{invalid, ConfigError};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLinkedIn {
    /// Required: the Client ID of the LinkedIn app.
    pub client_id: String,
    /// Required, secret: the app's Primary Client Secret.
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub introspect_url: String,
    pub userinfo_url: String,
    /// Space separated.
    pub scope: String,
    /// Per call, 1 to 300.
    pub timeout_seconds: u64,
    /// 1 to 10000.
    pub callback_retry_initial_ms: u64,
    /// 1 to 30000.
    pub callback_retry_max_total_ms: u64,
}

impl Default for RawLinkedIn {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: String::new(),
            authorize_url: "https://www.linkedin.com/oauth/v2/authorization".into(),
            token_url: "https://www.linkedin.com/oauth/v2/accessToken".into(),
            introspect_url: "https://www.linkedin.com/oauth/v2/introspectToken".into(),
            userinfo_url: "https://api.linkedin.com/v2/userinfo".into(),
            scope: "openid profile email w_member_social".into(),
            timeout_seconds: 20,
            callback_retry_initial_ms: 250,
            callback_retry_max_total_ms: 4000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LinkedInSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: Url,
    pub token_url: Url,
    pub introspect_url: Url,
    pub userinfo_url: Url,
    pub scope: String,
    pub timeout: Duration,
    /// Retries at the callback (userinfo, a code exchange that got no answer) start after
    /// this pause...
    pub callback_retry_initial: Duration,
    /// ...and stop after this much waiting in total: a member is looking at the browser.
    pub callback_retry_max_total: Duration,
}

impl TryFrom<RawLinkedIn> for LinkedInSettings {
    type Error = ConfigError;

    fn try_from(l: RawLinkedIn) -> Result<Self, ConfigError> {
        if l.client_id.trim().is_empty() {
            return Err(invalid(
                "linkedin.client_id",
                "must not be empty: the Client ID of your LinkedIn app",
            ));
        }
        if l.client_secret.is_empty() {
            return Err(invalid(
                "linkedin.client_secret",
                "must not be empty: the Primary Client Secret of your LinkedIn app",
            ));
        }
        if l.scope.split_whitespace().next().is_none() {
            return Err(invalid(
                "linkedin.scope",
                "must name at least one scope, space separated",
            ));
        }
        if l.timeout_seconds == 0 || l.timeout_seconds > 300 {
            return Err(invalid("linkedin.timeout_seconds", "expected 1 to 300"));
        }
        Ok(Self {
            authorize_url: parse_http_url("linkedin.authorize_url", &l.authorize_url)?,
            token_url: parse_http_url("linkedin.token_url", &l.token_url)?,
            introspect_url: parse_http_url("linkedin.introspect_url", &l.introspect_url)?,
            userinfo_url: parse_http_url("linkedin.userinfo_url", &l.userinfo_url)?,
            client_id: l.client_id,
            client_secret: SecretString::from(l.client_secret),
            scope: l.scope.split_whitespace().collect::<Vec<_>>().join(" "),
            timeout: Duration::from_secs(l.timeout_seconds),
            callback_retry_initial: Duration::from_millis(in_range(
                "linkedin.callback_retry_initial_ms",
                l.callback_retry_initial_ms,
                10_000,
            )?),
            callback_retry_max_total: Duration::from_millis(in_range(
                "linkedin.callback_retry_max_total_ms",
                l.callback_retry_max_total_ms,
                30_000,
            )?),
        })
    }
}

/// The section as printed, its secret redacted.
impl From<&LinkedInSettings> for RawLinkedIn {
    fn from(l: &LinkedInSettings) -> Self {
        Self {
            client_id: l.client_id.clone(),
            client_secret: shown_secret(&l.client_secret),
            authorize_url: l.authorize_url.to_string(),
            token_url: l.token_url.to_string(),
            introspect_url: l.introspect_url.to_string(),
            userinfo_url: l.userinfo_url.to_string(),
            scope: l.scope.clone(),
            timeout_seconds: l.timeout.as_secs(),
            callback_retry_initial_ms: l.callback_retry_initial.as_millis() as u64,
            callback_retry_max_total_ms: l.callback_retry_max_total.as_millis() as u64,
        }
    }
}
