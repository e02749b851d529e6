//! An RFC 6749 client behind the provider port: the same code for a generic server and for
//! the named networks, which differ only in their settings and their `Dialect`.

use super::client::OAuth2Client;
use super::dialect::Dialect;
use crate::domain::{AccessToken, ExpiryPolicy, ProviderKind, ProviderName};
use crate::provider::{
    unsupported, AuthorizeRequest, AuthorizeStyle, Capabilities, HeldGrant, Identity,
    Introspection, Pkce, PkceVerifier, Provider, ProviderError, RefreshStyle, Renewal, TokenGrant,
};
use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use url::Url;

impl<D: Dialect> OAuth2Client<D> {
    /// Retries where a member is waiting: quick, and a few seconds at most in all (the calls'
    /// own time included, so a network that times out every time cannot hold them long).
    async fn while_member_waits<T, F, Fut>(
        &self,
        call: F,
        worth_retrying: fn(&ProviderError) -> bool,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let budget = self.settings.callback_retry_max_total;
        let started = Instant::now();
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200).min(budget))
            .with_max_delay(budget)
            .with_total_delay(Some(budget))
            .with_max_times(8)
            .with_jitter();
        call.retry(backoff)
            .when(|error: &ProviderError| worth_retrying(error) && started.elapsed() < budget)
            .notify(|error, after| {
                tracing::warn!(error = %error, retry_in = ?after, "retrying while the member waits")
            })
            .await
    }
}

#[async_trait]
impl<D: Dialect> Provider for OAuth2Client<D> {
    fn name(&self) -> &ProviderName {
        &self.settings.name
    }

    fn kind(&self) -> ProviderKind {
        self.settings.kind
    }

    fn display_name(&self) -> &str {
        &self.settings.display_name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pkce: self.settings.pkce,
            refresh: RefreshStyle::RefreshToken,
            rotation: self.dialect.rotation(),
            revocation: self.settings.revocation_url.is_some(),
            introspection: self.settings.introspection_url.is_some(),
        }
    }

    fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        let settings = &self.settings;
        let request = AuthorizeRequest {
            pkce: request.pkce.filter(|_| settings.pkce != Pkce::Off),
            ..*request
        };
        let style = AuthorizeStyle {
            client_param: &settings.client_id_param,
            scope_separator: &settings.scope_separator,
        };
        let extra: Vec<(&str, &str)> = (settings.authorize_params.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        style.url(
            &settings.authorize_url,
            &settings.client_id,
            settings.scopes.iter().map(String::as_str),
            &request,
            &extra,
        )
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        pkce: Option<&PkceVerifier>,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError> {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        if let Some(verifier) = pkce.filter(|_| self.settings.pkce != Pkce::Off) {
            params.push(("code_verifier", verifier.expose()));
        }
        // A code is single-use: only a request that got no answer at all is sent again.
        let (tokens, body) = self
            .while_member_waits(
                || self.token_request(&params, now),
                ProviderError::no_answer,
            )
            .await?;
        Ok(TokenGrant {
            subject: self.dialect.token_subject(&body),
            tokens,
        })
    }

    async fn refresh(
        &self,
        held: &HeldGrant<'_>,
        now: DateTime<Utc>,
    ) -> Result<Renewal, ProviderError> {
        let Some(refresh_token) = held.refresh_token else {
            return Err(unsupported(
                self.display_name(),
                "a refresh without a refresh token",
            ));
        };
        let params = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        let (tokens, _) = self.token_request(&params, now).await?;
        Ok(Renewal::Renewed(tokens))
    }

    async fn identify(&self, grant: &TokenGrant) -> Result<Identity, ProviderError> {
        let Some(url) = &self.settings.userinfo_url else {
            return grant
                .subject
                .clone()
                .map(|subject| Identity {
                    subject,
                    name: None,
                    email: None,
                })
                .ok_or_else(|| unsupported(self.display_name(), "a way to identify the user"));
        };
        let token = &grant.tokens.access_token;
        self.while_member_waits(
            || self.userinfo_at(url, token),
            |e| e.no_answer() || matches!(e.http_status(), Some(408 | 500..=599)),
        )
        .await
    }

    async fn identify_token(&self, token: &AccessToken) -> Result<Identity, ProviderError> {
        match &self.settings.userinfo_url {
            Some(url) => self.userinfo_at(url, token).await,
            None => Err(unsupported(
                self.display_name(),
                "a way to identify the user",
            )),
        }
    }

    async fn introspect(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        match &self.settings.introspection_url {
            Some(url) => self.introspect_at(url, token, now).await,
            None => Err(unsupported(self.display_name(), "introspection")),
        }
    }

    async fn revoke(&self, token: &AccessToken) -> Result<(), ProviderError> {
        match &self.settings.revocation_url {
            Some(url) => self.revoke_at(url, token).await,
            None => Err(unsupported(self.display_name(), "revocation")),
        }
    }

    /// The operator's interval and margin, keeping alive the token the settings say: for
    /// short-lived access tokens, the refresh token only (`KeepAlive::RefreshToken`).
    fn expiry_policy(&self, configured: ExpiryPolicy) -> ExpiryPolicy {
        ExpiryPolicy {
            keeps_alive: self.settings.keeps_alive,
            ..configured
        }
    }
}
