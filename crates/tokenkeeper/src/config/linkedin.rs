//! The `[linkedin]` section: the LinkedIn app's credentials, its endpoints and how long to
//! wait for it.

use super::field::{display, http_url, redacted, text, In, Millis, Seconds};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedInSettings {
    /// Required: the Client ID of the LinkedIn app.
    pub client_id: String,
    /// Required: the app's Primary Client Secret.
    #[serde(serialize_with = "redacted")]
    pub client_secret: SecretString,
    #[serde(deserialize_with = "http_url", serialize_with = "display")]
    pub authorize_url: Url,
    #[serde(deserialize_with = "http_url", serialize_with = "display")]
    pub token_url: Url,
    #[serde(deserialize_with = "http_url", serialize_with = "display")]
    pub introspect_url: Url,
    #[serde(deserialize_with = "http_url", serialize_with = "display")]
    pub userinfo_url: Url,
    /// Space separated.
    #[serde(deserialize_with = "scopes")]
    pub scope: String,
    /// Per call.
    #[serde(rename = "timeout_seconds", with = "In::<Seconds, 1, 300>")]
    pub timeout: Duration,
    /// Retries at the callback (userinfo, a code exchange that got no answer) start after
    /// this pause...
    #[serde(rename = "callback_retry_initial_ms", with = "In::<Millis, 1, 10_000>")]
    pub callback_retry_initial: Duration,
    /// ...and stop after this much waiting in total: a member is looking at the browser.
    #[serde(
        rename = "callback_retry_max_total_ms",
        with = "In::<Millis, 1, 30_000>"
    )]
    pub callback_retry_max_total: Duration,
}

impl Default for LinkedInSettings {
    fn default() -> Self {
        let url = |url| Url::parse(url).expect("a default endpoint is a URL");
        Self {
            client_id: String::new(),
            client_secret: SecretString::default(),
            authorize_url: url("https://www.linkedin.com/oauth/v2/authorization"),
            token_url: url("https://www.linkedin.com/oauth/v2/accessToken"),
            introspect_url: url("https://www.linkedin.com/oauth/v2/introspectToken"),
            userinfo_url: url("https://api.linkedin.com/v2/userinfo"),
            scope: "openid profile email w_member_social".into(),
            timeout: Duration::from_secs(20),
            callback_retry_initial: Duration::from_millis(250),
            callback_retry_max_total: Duration::from_secs(4),
        }
    }
}

fn scopes<'de, D: Deserializer<'de>>(scope: D) -> Result<String, D::Error> {
    text(scope, |scope| {
        match scope.split_whitespace().collect::<Vec<_>>() {
            scopes if scopes.is_empty() => {
                Err("must name at least one scope, space separated".into())
            }
            scopes => Ok(scopes.join(" ")),
        }
    })
}

impl LinkedInSettings {
    /// `[linkedin]` as the provider named `linkedin` would be configured in
    /// `[providers.linkedin]`, for what reads every provider alike. The callback's retries stay
    /// LinkedIn's own.
    pub fn as_provider(&self) -> super::ProviderSettings {
        super::ProviderSettings {
            kind: crate::domain::ProviderKind::LinkedIn,
            client_id: self.client_id.clone(),
            client_secret: Some(self.client_secret.clone()),
            scopes: self.scope.split_whitespace().map(str::to_owned).collect(),
            display_name: crate::domain::ProviderKind::LinkedIn
                .display_name()
                .to_owned(),
            timeout: self.timeout,
            min_validity: super::providers::default_min_validity(),
            authorize_url: Some(self.authorize_url.clone()),
            token_url: Some(self.token_url.clone()),
            revocation_url: None,
            introspection_url: Some(self.introspect_url.clone()),
            userinfo_url: Some(self.userinfo_url.clone()),
            issuer: None,
            client_auth: None,
            scope_separator: None,
            pkce: None,
            authorize_params: Default::default(),
        }
    }
}
