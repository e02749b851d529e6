//! The calls of an RFC 6749 client: the token endpoint (code exchange and refresh), RFC 7009
//! revocation, RFC 7662 introspection and userinfo. Each is one request; the retries a
//! waiting member deserves are in `provider.rs`, the engine's own retries in the engine.

use super::classify;
use super::dialect::Dialect;
use super::responses::{IntrospectionResponse, OAuthErrorBody, Reading, TokenResponse};
use super::settings::{ClientAuth, OAuth2Settings};
use crate::domain::{AccessToken, TokenSet};
use crate::provider::body::read_limited;
use crate::provider::{Failure, Identity, Introspection, ProviderError};
use chrono::{DateTime, Utc};
use reqwest::header::RETRY_AFTER;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A generic OAuth 2.0 provider, spoken in `D`'s dialect (`Standard`, `X`, `Google`,
/// `TikTok`).
pub struct OAuth2Client<D> {
    pub(super) http: reqwest::Client,
    pub(super) settings: OAuth2Settings,
    pub(super) dialect: D,
    /// How error texts name the network.
    pub(super) network: Arc<str>,
}

/// An answer that arrived: its status and its (bounded) body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl<D: Dialect> OAuth2Client<D> {
    pub fn new(settings: OAuth2Settings, dialect: D) -> Result<Self, ProviderError> {
        let network: Arc<str> = Arc::from(settings.display_name.as_str());
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::new(network.clone(), from_reqwest(e)))?;
        Ok(Self {
            http,
            settings,
            dialect,
            network,
        })
    }

    pub fn settings(&self) -> &OAuth2Settings {
        &self.settings
    }

    pub(super) fn failure(&self, failure: Failure) -> ProviderError {
        ProviderError::new(self.network.clone(), failure)
    }

    /// Sends one request. A 429 is rate limiting at every endpoint, with the pause asked for.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, ProviderError> {
        let response = request
            .send()
            .await
            .map_err(|e| self.failure(from_reqwest(e)))?;
        let status = response.status().as_u16();
        if status == 429 {
            // What Retry-After says is only a wish, which the engine caps by its own budget.
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| crate::provider::retry_after::parse(v, Utc::now()));
            return Err(self.failure(Failure::RateLimited { retry_after }));
        }
        let body = read_limited(response)
            .await
            .map_err(|detail| self.failure(Failure::Malformed(detail)))?;
        Ok(Answer { status, body })
    }

    /// A POST to one of the client-authenticated endpoints (token, revocation,
    /// introspection), with the client's credentials where the provider reads them.
    fn client_post(&self, url: &url::Url, params: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let settings = &self.settings;
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut request = self.http.post(url.clone());
        match (&settings.client_secret, settings.client_auth) {
            (Some(secret), ClientAuth::Basic) => {
                request = request.basic_auth(&settings.client_id, Some(secret.expose_secret()));
            }
            (Some(secret), ClientAuth::Post) => {
                form.push((&settings.client_id_param, &settings.client_id));
                form.push(("client_secret", secret.expose_secret()));
            }
            (None, _) => form.push((&settings.client_id_param, &settings.client_id)),
        }
        request.form(&form)
    }

    /// One call to the token endpoint: the tokens, and the body they came in (for what a
    /// dialect reads beside them).
    pub(super) async fn token_request(
        &self,
        params: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<(TokenSet, Value), ProviderError> {
        let answer = self
            .send(self.client_post(&self.settings.token_url, params))
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(self.token_error(&answer));
        }
        let malformed = |detail: String| self.failure(Failure::Malformed(detail));
        let body: Value =
            serde_json::from_slice(&answer.body).map_err(|e| malformed(e.to_string()))?;
        let response: TokenResponse =
            serde_json::from_value(body.clone()).map_err(|e| malformed(e.to_string()))?;
        let requested_scope = self.settings.scopes.join(" ");
        let reading = Reading {
            now,
            assumed_token_life: self.settings.assumed_token_life,
            requested_scope: &requested_scope,
        };
        let tokens = response.into_token_set(&reading).map_err(malformed)?;
        Ok((tokens, body))
    }

    fn token_error(&self, answer: &Answer) -> ProviderError {
        let text = answer.text();
        let body: OAuthErrorBody = serde_json::from_str(&text).unwrap_or_default();
        let class = self.dialect.token_error(answer.status, &body);
        let secret = self
            .settings
            .client_secret
            .as_ref()
            .map(|s| secrecy::ExposeSecret::expose_secret(s).to_owned())
            .unwrap_or_default();
        // A server (or a gateway) may echo the form we sent: the refresh token, the code, the
        // secret. Only masked text goes on.
        let scrubbed = crate::provider::scrub::scrub(&text, &[&secret]);
        let description = crate::provider::scrub::scrub(&body.error_description, &[&secret]);
        let mut message = describe(&description, &scrubbed);
        if let Some(log_id) = &body.log_id {
            message = format!(
                "{message} (log_id {})",
                crate::telemetry::outside_text(log_id)
            );
        }
        self.failure(Failure::Status {
            status: answer.status,
            code: (!body.error.is_empty()).then(|| crate::telemetry::outside_text(&body.error)),
            message,
            class,
        })
    }

    /// RFC 7009: ends the grant the token belongs to. A token the server says is already
    /// invalid (Google's `invalid_token`) is as revoked as we wanted it.
    pub(super) async fn revoke_at(
        &self,
        url: &url::Url,
        token: &AccessToken,
    ) -> Result<(), ProviderError> {
        let params = [
            ("token", token.expose()),
            ("token_type_hint", "access_token"),
        ];
        let answer = self.send(self.client_post(url, &params)).await?;
        if (200..300).contains(&answer.status) {
            return Ok(());
        }
        let body: OAuthErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
        if body.error == "invalid_token" {
            return Ok(());
        }
        Err(self.token_error(&answer))
    }

    /// RFC 7662: what the server knows about an access token.
    pub(super) async fn introspect_at(
        &self,
        url: &url::Url,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        let params = [
            ("token", token.expose()),
            ("token_type_hint", "access_token"),
        ];
        let answer = self.send(self.client_post(url, &params)).await?;
        if !(200..300).contains(&answer.status) {
            return Err(self.token_error(&answer));
        }
        serde_json::from_slice::<IntrospectionResponse>(&answer.body)
            .map_err(|e| e.to_string())
            .and_then(|body| body.into_introspection(now))
            .map_err(|detail| self.failure(Failure::Malformed(detail)))
    }

    /// Who holds this access token, asked once.
    pub(super) async fn userinfo_at(
        &self,
        url: &url::Url,
        token: &AccessToken,
    ) -> Result<Identity, ProviderError> {
        let request = self
            .http
            .get(url.clone())
            .query(self.dialect.userinfo_query())
            .bearer_auth(token.expose());
        let answer = self.send(request).await?;
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if (200..300).contains(&answer.status) {
            return self.dialect.identity(&body).ok_or_else(|| {
                self.failure(Failure::Malformed(
                    "the user's id is missing from the answer".into(),
                ))
            });
        }
        Err(self.failure(Failure::Status {
            status: answer.status,
            code: self
                .dialect
                .api_error_code(&body)
                .map(|c| crate::telemetry::outside_text(&c)),
            message: describe("", &crate::provider::scrub::scrub(&answer.text(), &[])),
            class: classify::api_error(answer.status),
        }))
    }
}

fn from_reqwest(err: reqwest::Error) -> Failure {
    if err.is_timeout() {
        Failure::Timeout
    } else if err.is_decode() {
        Failure::Malformed(err.to_string())
    } else {
        // reqwest errors carry the URL, never the form body, so they are safe to log.
        Failure::Connect(crate::telemetry::error_chain(&err))
    }
}

/// A short, loggable description of an error answer: its description, else its raw body, on
/// one line and cut short so a misbehaving proxy cannot flood the logs.
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
