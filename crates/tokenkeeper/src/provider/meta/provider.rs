//! Instagram, Threads and Facebook behind the provider port: one client, told by its kind
//! which flow to follow (`instagram.rs` for Instagram and Threads, `facebook.rs`).

use super::graph::{callback_backoff, worth_retrying, Graph};
use super::network::MetaNetwork;
use super::responses::Me;
use super::settings::MetaSettings;
use crate::domain::{AccessToken, ExpiryPolicy, ProviderKind, ProviderName};
use crate::provider::{
    unsupported, AuthorizeRequest, AuthorizeStyle, Capabilities, HeldGrant, Identity,
    Introspection, Pkce, PkceVerifier, Provider, ProviderError, RefreshStyle, Renewal, Rotation,
    TokenGrant,
};
use async_trait::async_trait;
use backon::Retryable;
use chrono::{DateTime, Utc};
use std::time::Duration;
use url::Url;

/// Meta asks for permissions comma-separated; PKCE is not part of its documented flows.
const AUTHORIZE_STYLE: AuthorizeStyle = AuthorizeStyle {
    client_param: "client_id",
    scope_separator: ",",
};

/// A renewal falls due at least this long before the token's end, whatever the operator
/// configured: an expired Meta token cannot be renewed, and the sweeps run twice a day.
const RENEW_BEFORE_END: chrono::Duration = chrono::Duration::days(3);

/// Talks to one of Meta's networks (or a fake of it, when the endpoints point there).
#[derive(Clone)]
pub struct MetaClient {
    pub(super) graph: Graph,
    pub(super) settings: MetaSettings,
    pub(super) network: MetaNetwork,
}

impl MetaClient {
    /// Refuses settings whose kind is not Instagram, Threads or Facebook.
    pub fn new(settings: MetaSettings) -> Result<Self, ProviderError> {
        let Some(network) = MetaNetwork::of(settings.kind) else {
            return Err(unsupported(
                &settings.display_name,
                "Meta's token flows: it is not Instagram, Threads or Facebook",
            ));
        };
        Ok(Self {
            graph: Graph::new(&settings.display_name, settings.timeout)?,
            settings,
            network,
        })
    }

    pub(super) fn display(&self) -> &str {
        &self.settings.display_name
    }

    /// `/me` once: who holds `token`. The token goes in the header, not the URL.
    async fn me(&self, token: &AccessToken) -> Result<Identity, ProviderError> {
        let request = (self.graph.http().get(self.settings.endpoints.me.clone()))
            .query(&[("fields", self.network.me_fields())])
            .bearer_auth(token.expose());
        let me: Me = self.graph.call(request, &[token.expose()]).await?;
        me.into_identity()
            .ok_or_else(|| self.graph.malformed("/me answered without an id"))
    }
}

#[async_trait]
impl Provider for MetaClient {
    fn name(&self) -> &ProviderName {
        &self.settings.name
    }

    fn kind(&self) -> ProviderKind {
        self.settings.kind
    }

    fn display_name(&self) -> &str {
        self.display()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            pkce: Pkce::Off,
            refresh: RefreshStyle::ExchangeAccessToken,
            // No refresh token at all: the one held (none) stays.
            rotation: Rotation::Keeps,
            revocation: self.network == MetaNetwork::Facebook
                && self.settings.endpoints.revoke.is_some(),
            introspection: self.network == MetaNetwork::Facebook
                && self.settings.endpoints.debug_token.is_some(),
        }
    }

    fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        let request = AuthorizeRequest {
            pkce: None,
            ..*request
        };
        AUTHORIZE_STYLE.url(
            &self.settings.endpoints.authorize,
            &self.settings.client_id,
            self.settings.scopes.iter().map(String::as_str),
            &request,
            &[],
        )
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        _pkce: Option<&PkceVerifier>,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError> {
        match self.network {
            MetaNetwork::Instagram | MetaNetwork::Threads => {
                self.instagram_exchange_code(code, redirect_uri, now).await
            }
            MetaNetwork::Facebook => self.facebook_exchange_code(code, redirect_uri, now).await,
        }
    }

    async fn refresh(
        &self,
        held: &HeldGrant<'_>,
        now: DateTime<Utc>,
    ) -> Result<Renewal, ProviderError> {
        match self.network.renewal_min_age() {
            Some(min_age) => self.instagram_refresh(held, min_age, now).await,
            // The renewal keeps the grant's permissions: an empty scope leaves the stored one.
            None => Ok(Renewal::Renewed(
                self.fb_exchange_token(held.access_token.expose(), now, String::new())
                    .await?,
            )),
        }
    }

    async fn identify(&self, grant: &TokenGrant) -> Result<Identity, ProviderError> {
        let token = &grant.tokens.access_token;
        (|| self.me(token))
            .retry(callback_backoff())
            .when(worth_retrying)
            .await
    }

    async fn identify_token(&self, token: &AccessToken) -> Result<Identity, ProviderError> {
        self.me(token).await
    }

    async fn introspect(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        match self.network {
            MetaNetwork::Facebook => self.debug_token(token, now).await,
            _ => Err(unsupported(self.display(), "introspection")),
        }
    }

    async fn revoke(&self, token: &AccessToken) -> Result<(), ProviderError> {
        match self.network {
            MetaNetwork::Facebook => self.remove_permissions(token).await,
            _ => Err(unsupported(self.display(), "revocation")),
        }
    }

    /// The operator's policy, kept inside the renewal window: never sooner than the network
    /// renews (a day, at Instagram and Threads), never later than a few days before the end.
    fn expiry_policy(&self, configured: ExpiryPolicy) -> ExpiryPolicy {
        let min_age = self
            .network
            .renewal_min_age()
            .unwrap_or_else(chrono::Duration::zero);
        configured.within_renewal_window(min_age, RENEW_BEFORE_END)
    }
}
