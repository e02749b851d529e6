use super::error::{
    classify_introspection_error, classify_token_error, FailureClass, LinkedInError,
};
use super::introspection::{Introspection, IntrospectionResponse};
use super::responses::{ApiErrorBody, OAuthErrorBody, TokenResponse, UserInfoResponse};
use crate::config::LinkedInSettings;
use crate::domain::ProviderName;
use crate::domain::{AccessToken, RefreshToken, TokenSet};
use crate::provider::body::read_limited;
use crate::provider::{AuthorizeRequest, AuthorizeStyle};
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use reqwest::header::RETRY_AFTER;
use secrecy::ExposeSecret;
use std::time::Duration;
use url::Url;

/// What userinfo tells us about the member who just consented.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Talks to LinkedIn's OAuth endpoints (or the fake, when the URLs point at it).
#[derive(Clone)]
pub struct LinkedInClient {
    http: reqwest::Client,
    settings: LinkedInSettings,
    /// `linkedin`, or the name of a second LinkedIn app (`[providers.NAME]`, kind linkedin).
    name: ProviderName,
}

impl LinkedInClient {
    pub fn new(settings: LinkedInSettings) -> Result<Self, LinkedInError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(LinkedInError::from_reqwest)?;
        Ok(Self {
            http,
            settings,
            name: ProviderName::linkedin(),
        })
    }

    /// The same client, as the provider named `name`.
    pub fn named(mut self, name: ProviderName) -> Self {
        self.name = name;
        self
    }

    pub(super) fn provider_name(&self) -> &ProviderName {
        &self.name
    }

    /// The longest a single call to LinkedIn may take.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    pub fn client_id(&self) -> &str {
        &self.settings.client_id
    }

    /// The URL of LinkedIn's consent page for one connect attempt.
    /// LinkedIn's spelling is RFC 6749's: `client_id`, scopes separated by spaces, no PKCE.
    pub fn authorize_url(&self, state: &str, redirect_uri: &Url) -> Url {
        let request = AuthorizeRequest {
            state,
            redirect_uri,
            pkce: None,
        };
        AuthorizeStyle::STANDARD.url(
            &self.settings.authorize_url,
            &self.settings.client_id,
            self.settings.scope.split(' '),
            &request,
            &[],
        )
    }

    /// Trades the authorization code from the callback for tokens. A code is single-use: once
    /// LinkedIn has answered anything, asking again can only fail, so only a request that got
    /// no answer at all is sent again.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        now: DateTime<Utc>,
    ) -> Result<TokenSet, LinkedInError> {
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        let started = std::time::Instant::now();
        (|| self.token_request(&params, now))
            .retry(self.callback_backoff())
            .when(|error: &LinkedInError| error.no_answer() && self.may_retry(started))
            .notify(|error, after| {
                tracing::warn!(error = %error, retry_in = ?after, "code exchange got no answer; retrying")
            })
            .await
    }

    /// Whether a retry at the callback may still start: the budget counts the calls' own
    /// time too, so a LinkedIn that times out every time cannot keep the member waiting long.
    fn may_retry(&self, started: std::time::Instant) -> bool {
        started.elapsed() < self.settings.callback_retry_max_total
    }

    /// Retries at the callback, where a member is waiting: quick, and a few seconds at most.
    fn callback_backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.settings.callback_retry_initial)
            .with_max_delay(self.settings.callback_retry_max_total)
            .with_total_delay(Some(self.settings.callback_retry_max_total))
            .with_max_times(8)
            .with_jitter()
    }

    /// Uses a refresh token (partner apps only) for a new access token.
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        now: DateTime<Utc>,
    ) -> Result<TokenSet, LinkedInError> {
        self.token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
            now,
        )
        .await
    }

    async fn token_request(
        &self,
        params: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<TokenSet, LinkedInError> {
        // LinkedIn rejects HTTP Basic client authentication: credentials go in the form body.
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("client_id", &self.settings.client_id));
        form.push(("client_secret", self.settings.client_secret.expose_secret()));
        let request = self.http.post(self.settings.token_url.clone()).form(&form);
        let (status, text) = match call::<TokenResponse>(request).await? {
            Ok(body) => return body.into_token_set(now).map_err(LinkedInError::Malformed),
            Err(answer) => answer,
        };
        let body: OAuthErrorBody = serde_json::from_str(&text).unwrap_or_default();
        let class = classify_token_error(status, &body.error, &body.error_description);
        Err(LinkedInError::Status {
            status,
            code: (!body.error.is_empty()).then(|| body.error.clone()),
            message: describe(&body.error_description, &text),
            class,
        })
    }

    /// Asks LinkedIn what it knows about an access token. One call, no retry: the caller paces
    /// and retries (introspection reads only, so asking again is always safe).
    pub async fn introspect(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, LinkedInError> {
        let form = [
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose_secret()),
            ("token", token.expose()),
        ];
        let request = self
            .http
            .post(self.settings.introspect_url.clone())
            .form(&form);
        let (status, text) = match call::<IntrospectionResponse>(request).await? {
            Ok(body) => {
                return body
                    .into_introspection(now)
                    .map_err(LinkedInError::Malformed)
            }
            Err(answer) => answer,
        };
        let body: OAuthErrorBody = serde_json::from_str(&text).unwrap_or_default();
        Err(LinkedInError::Status {
            status,
            code: (!body.error.is_empty()).then(|| body.error.clone()),
            message: describe(&body.error_description, &text),
            class: classify_introspection_error(status, &body.error, &body.error_description),
        })
    }

    /// Reads the member's id (`sub`), name and email with a fresh access token. Retried
    /// briefly: a brand-new token sometimes answers 401 "revoked" for a few seconds after
    /// consent, and a 5xx or a lost connection may pass; a member is waiting meanwhile.
    pub async fn userinfo(&self, token: &AccessToken) -> Result<UserInfo, LinkedInError> {
        let started = std::time::Instant::now();
        (|| self.userinfo_once(token))
            .retry(self.callback_backoff())
            .when(|error: &LinkedInError| {
                (error.no_answer() || matches!(error.http_status(), Some(401 | 408 | 500..=599)))
                    && self.may_retry(started)
            })
            .notify(|error, after| {
                tracing::info!(error = %error, retry_in = ?after, "userinfo failed; retrying")
            })
            .await
    }

    /// Asks LinkedIn once whether it still takes a stored access token (through userinfo, which
    /// every token of ours may read). Not retried: this token is not brand-new, so a 401 is an
    /// answer, and the host app is waiting.
    pub async fn check_access_token(&self, token: &AccessToken) -> Result<(), LinkedInError> {
        self.userinfo_once(token).await.map(|_| ())
    }

    /// Asks userinfo once who holds a stored access token (an import's, without its member).
    /// Not retried here: the caller paces and retries, and a 401 is an answer.
    pub async fn member_of(&self, token: &AccessToken) -> Result<UserInfo, LinkedInError> {
        self.userinfo_once(token).await
    }

    async fn userinfo_once(&self, token: &AccessToken) -> Result<UserInfo, LinkedInError> {
        let request = self
            .http
            .get(self.settings.userinfo_url.clone())
            .bearer_auth(token.expose());
        let (status, text) = match call::<UserInfoResponse>(request).await? {
            Ok(body) => {
                return Ok(UserInfo {
                    sub: body.sub,
                    name: body.name,
                    email: body.email,
                })
            }
            Err(answer) => answer,
        };
        let body: ApiErrorBody = serde_json::from_str(&text).unwrap_or_default();
        // A 401 means the token is not (or no longer) good: the member must connect again.
        // Decide on the status, not on the sub-code: a brand-new token sometimes answers
        // "revoked" for a few seconds.
        let class = match status {
            401 => FailureClass::Permanent,
            500..=599 | 408 => FailureClass::Transient,
            _ => FailureClass::Misconfiguration,
        };
        Err(LinkedInError::Status {
            status,
            code: body.service_error_code.map(|c| c.to_string()),
            message: describe(&body.message, &text),
            class,
        })
    }
}

/// Sends a request: `Ok(Ok(body))` for a success, `Ok(Err((status, text)))` for an error
/// answer the caller must classify; a 429 is classified here, the same for every endpoint.
async fn call<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<Result<T, (u16, String)>, LinkedInError> {
    let response = request.send().await.map_err(LinkedInError::from_reqwest)?;
    let status = response.status().as_u16();
    if status == 429 {
        return Err(rate_limited(&response));
    }
    let success = response.status().is_success();
    let body = read_limited(response)
        .await
        .map_err(LinkedInError::Malformed)?;
    if success {
        return serde_json::from_slice(&body)
            .map(Ok)
            .map_err(|e| LinkedInError::Malformed(e.to_string()));
    }
    Ok(Err((status, String::from_utf8_lossy(&body).into_owned())))
}

fn rate_limited(response: &reqwest::Response) -> LinkedInError {
    // Retry-After is undocumented at LinkedIn and often absent; what it says is only a wish,
    // which the caller caps by its own budget.
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::provider::retry_after::parse(v, Utc::now()));
    LinkedInError::RateLimited { retry_after }
}

/// A short, loggable description of an error answer. Error bodies never echo our credentials,
/// but we still cut them short so a misbehaving proxy cannot flood the logs.
fn describe(description: &str, raw_body: &str) -> String {
    let text = if description.is_empty() {
        raw_body
    } else {
        description
    };
    if text.trim().is_empty() {
        return "(empty body)".to_owned();
    }
    crate::telemetry::outside_text(text)
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn descriptions_are_short_single_lines() {
        assert_eq!(describe("", ""), "(empty body)");
        assert_eq!(describe("", "\n\t"), "(empty body)");
        let forged = describe("restricted\n2026-03-02T08:00:00Z INFO token refreshed", "");
        assert!(!forged.contains('\n'), "{forged}");
        assert!(describe(&"x".repeat(10_000), "").chars().count() < 400);
    }
}
