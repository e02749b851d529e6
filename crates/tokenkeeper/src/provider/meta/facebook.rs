//! Facebook Login's flow: the code exchange is a GET with our credentials in the query and
//! answers a one-hour token; `fb_exchange_token` trades any live token for a 60-day one,
//! which is also how a long-lived token is kept alive (no waiting period, but never once it
//! has expired). `debug_token`, asked with the app's own token, says what Facebook knows about
//! a user token; `DELETE /me/permissions` removes the app for the member.

use super::graph::{callback_backoff, worth_retrying};
use super::responses::{DebugToken, TokenResponse};
use super::MetaClient;
use crate::domain::{AccessToken, TokenSet};
use crate::provider::{unsupported, Introspection, ProviderError, TokenGrant};
use backon::Retryable;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use url::Url;

impl MetaClient {
    pub(super) async fn facebook_exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError> {
        let secret = self.settings.client_secret.expose_secret();
        let query = [
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", secret),
            ("redirect_uri", redirect_uri.as_str()),
            ("code", code),
        ];
        let secrets = [secret, code];
        let exchange = || {
            let request = self.graph.http().get(self.settings.endpoints.token.clone());
            self.graph
                .call::<TokenResponse>(request.query(&query), &secrets)
        };
        // A code is single-use: only a request that got no answer at all is sent again.
        let short = exchange
            .retry(callback_backoff())
            .when(ProviderError::no_answer)
            .await?;
        let scope = self.settings.scopes.join(" ");
        let long = || self.fb_exchange_token(&short.access_token, now, scope.clone());
        let tokens = long.retry(callback_backoff()).when(worth_retrying).await?;
        // Facebook's token answers do not say whose token it is: `/me` does.
        Ok(TokenGrant {
            tokens,
            subject: None,
        })
    }

    /// `fb_exchange_token`: a live token (short- or long-lived) for one valid 60 days.
    pub(super) async fn fb_exchange_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
        scope: String,
    ) -> Result<TokenSet, ProviderError> {
        let secret = self.settings.client_secret.expose_secret();
        let query = [
            ("grant_type", self.network.refresh_grant()),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", secret),
            ("fb_exchange_token", token),
        ];
        let request = self
            .graph
            .http()
            .get(self.settings.endpoints.refresh.clone());
        self.graph
            .call::<TokenResponse>(request.query(&query), &[secret, token])
            .await?
            .into_token_set(now, scope)
            .map_err(|detail| self.graph.malformed(detail))
    }

    /// `debug_token`, with the app token `{app-id}|{app-secret}`. One call, no retry.
    pub(super) async fn debug_token(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        let Some(url) = self.settings.endpoints.debug_token.clone() else {
            return Err(unsupported(self.display(), "introspection"));
        };
        let secret = self.settings.client_secret.expose_secret();
        let app_token = format!("{}|{secret}", self.settings.client_id);
        let query = [
            ("input_token", token.expose()),
            ("access_token", app_token.as_str()),
        ];
        let request = self.graph.http().get(url).query(&query);
        self.graph
            .call::<DebugToken>(request, &[token.expose(), &app_token, secret])
            .await?
            .into_introspection(now)
            .map_err(|detail| self.graph.malformed(detail))
    }

    /// `DELETE /me/permissions`: the member's grant ends, every token of it with it.
    pub(super) async fn remove_permissions(
        &self,
        token: &AccessToken,
    ) -> Result<(), ProviderError> {
        let Some(url) = self.settings.endpoints.revoke.clone() else {
            return Err(unsupported(self.display(), "revocation"));
        };
        let request = self.graph.http().delete(url).bearer_auth(token.expose());
        let answer: serde_json::Value = self.graph.call(request, &[token.expose()]).await?;
        match answer.get("success").and_then(serde_json::Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(self.graph.malformed("the permissions were not removed")),
        }
    }
}
