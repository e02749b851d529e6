//! The `oidc` provider: a standard client whose endpoints, client authentication and PKCE
//! come from the issuer's discovery document. The document is read when first needed
//! (`Provider::prepare`, before a connect attempt; any call otherwise) and kept: an issuer that
//! is down when the service starts costs its own members a retry, never the other providers
//! their start.

use super::discovery::Discovery;
use crate::config::{self, ProviderSettings};
use crate::domain::{AccessToken, ExpiryPolicy, KeepAlive, ProviderKind, ProviderName};
use crate::provider::oauth2::{ClientAuth, OAuth2Client, OAuth2Settings, Standard};
use crate::provider::{
    AuthorizeRequest, Capabilities, Failure, HeldGrant, Identity, Introspection, Pkce,
    PkceVerifier, Provider, ProviderError, RefreshStyle, Renewal, Rotation, TokenGrant,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::sync::OnceCell;
use url::Url;

pub struct OidcClient {
    name: ProviderName,
    settings: ProviderSettings,
    issuer: Url,
    http: reqwest::Client,
    client: OnceCell<OAuth2Client<Standard>>,
}

impl OidcClient {
    pub fn new(name: ProviderName, settings: ProviderSettings) -> Result<Self, ProviderError> {
        let issuer = settings.issuer.clone().ok_or_else(|| {
            ProviderError::new(
                settings.display_name.as_str(),
                Failure::Malformed(format!("providers.{name}.issuer is required")),
            )
        })?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ProviderError::new(
                    settings.display_name.as_str(),
                    Failure::Connect(e.without_url().to_string()),
                )
            })?;
        Ok(Self {
            name,
            settings,
            issuer,
            http,
            client: OnceCell::new(),
        })
    }

    /// The client the discovery document describes, read once.
    async fn client(&self) -> Result<&OAuth2Client<Standard>, ProviderError> {
        self.client
            .get_or_try_init(|| async {
                let discovery = Discovery::fetch(&self.http, &self.issuer)
                    .await
                    .map_err(|e| {
                        // An issuer down or answering oddly may pass: the next call asks again.
                        ProviderError::new(
                            self.settings.display_name.as_str(),
                            Failure::Connect(e.to_string()),
                        )
                    })?;
                OAuth2Client::new(self.settings_from(&discovery), Standard)
            })
            .await
    }

    fn settings_from(&self, discovery: &Discovery) -> OAuth2Settings {
        let mut oauth2 = OAuth2Settings::standard(
            self.name.clone(),
            ProviderKind::Oidc,
            &self.settings.client_id,
            self.settings.client_secret().cloned(),
            discovery.authorization_endpoint.clone(),
            discovery.token_endpoint.clone(),
        );
        oauth2.display_name.clone_from(&self.settings.display_name);
        oauth2
            .revocation_url
            .clone_from(&discovery.revocation_endpoint);
        oauth2
            .introspection_url
            .clone_from(&discovery.introspection_endpoint);
        oauth2.userinfo_url.clone_from(&discovery.userinfo_endpoint);
        oauth2.scopes.clone_from(&self.settings.scopes);
        oauth2.timeout = self.settings.timeout;
        // The configuration wins; else the document's first choice of the two we speak,
        // Basic when it lists both or neither (RFC 6749's default).
        oauth2.client_auth = match self.settings.client_auth {
            Some(config::ClientAuth::Post) => ClientAuth::Post,
            Some(config::ClientAuth::Basic) => ClientAuth::Basic,
            None if !discovery.supports_auth_method("client_secret_basic")
                && discovery.supports_auth_method("client_secret_post") =>
            {
                ClientAuth::Post
            }
            None => ClientAuth::Basic,
        };
        oauth2.pkce = if discovery.supports_pkce_s256() {
            Pkce::Required
        } else {
            Pkce::Off
        };
        // OpenID Connect Core 11: a refresh token for `offline_access` comes only with a
        // consent prompt.
        if oauth2.scopes.iter().any(|s| s == "offline_access") {
            oauth2
                .authorize_params
                .push(("prompt".into(), "consent".into()));
        }
        oauth2
    }
}

#[async_trait]
impl Provider for OidcClient {
    fn name(&self) -> &ProviderName {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Oidc
    }

    fn display_name(&self) -> &str {
        &self.settings.display_name
    }

    fn capabilities(&self) -> Capabilities {
        match self.client.get() {
            Some(client) => client.capabilities(),
            // What a standard server offers, until its document tells more.
            None => Capabilities {
                pkce: Pkce::Optional,
                refresh: RefreshStyle::RefreshToken,
                rotation: Rotation::SingleUse,
                revocation: false,
                introspection: false,
            },
        }
    }

    fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    async fn prepare(&self) -> Result<(), ProviderError> {
        self.client().await.map(|_| ())
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        match self.client.get() {
            Some(client) => client.authorize_url(request),
            // `prepare` comes first in the connect flow; without it, the issuer itself is the
            // one place the member can be sent.
            None => self.issuer.clone(),
        }
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        pkce: Option<&PkceVerifier>,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError> {
        self.client()
            .await?
            .exchange_code(code, redirect_uri, pkce, now)
            .await
    }

    async fn refresh(
        &self,
        held: &HeldGrant<'_>,
        now: DateTime<Utc>,
    ) -> Result<Renewal, ProviderError> {
        self.client().await?.refresh(held, now).await
    }

    async fn identify(&self, grant: &TokenGrant) -> Result<Identity, ProviderError> {
        self.client().await?.identify(grant).await
    }

    async fn identify_token(&self, token: &AccessToken) -> Result<Identity, ProviderError> {
        self.client().await?.identify_token(token).await
    }

    async fn introspect(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        self.client().await?.introspect(token, now).await
    }

    async fn revoke(&self, token: &AccessToken) -> Result<(), ProviderError> {
        self.client().await?.revoke(token).await
    }

    /// A standard server's short-lived access tokens: the refresh token is kept alive, the
    /// access token renewed when read. The document changes nothing of it.
    fn expiry_policy(&self, configured: ExpiryPolicy) -> ExpiryPolicy {
        ExpiryPolicy {
            keeps_alive: KeepAlive::RefreshToken { idle_life: None },
            ..configured
        }
    }
}
