//! LinkedIn behind the provider port: the client's own calls, unchanged, seen through
//! [`Provider`]. LinkedIn has a standard refresh grant (partner apps only), keeps its refresh
//! token's original end, has introspection but no revocation endpoint, and refuses PKCE from
//! web apps.

use super::{LinkedInClient, UserInfo};
use crate::domain::{AccessToken, ProviderKind, ProviderName};
use crate::provider::{
    unsupported, AuthorizeRequest, Capabilities, HeldGrant, Identity, Introspection, Pkce,
    PkceVerifier, Provider, ProviderError, RefreshStyle, Renewal, Rotation, TokenGrant,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use url::Url;

const CAPABILITIES: Capabilities = Capabilities {
    pkce: Pkce::Off,
    refresh: RefreshStyle::RefreshToken,
    rotation: Rotation::Keeps,
    revocation: false,
    introspection: true,
};

impl From<UserInfo> for Identity {
    fn from(info: UserInfo) -> Self {
        Identity {
            subject: info.sub,
            name: info.name,
            email: info.email,
        }
    }
}

#[async_trait]
impl Provider for LinkedInClient {
    fn name(&self) -> &ProviderName {
        self.provider_name()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::LinkedIn
    }

    fn display_name(&self) -> &str {
        super::error::NETWORK
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn timeout(&self) -> Duration {
        LinkedInClient::timeout(self)
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        // PKCE is off: a verifier sent to LinkedIn by a web app has failed the exchange.
        LinkedInClient::authorize_url(self, request.state, request.redirect_uri)
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        _pkce: Option<&PkceVerifier>,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError> {
        let tokens = LinkedInClient::exchange_code(self, code, redirect_uri, now).await?;
        Ok(TokenGrant {
            tokens,
            subject: None,
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
        Ok(Renewal::Renewed(
            LinkedInClient::refresh(self, refresh_token, now).await?,
        ))
    }

    async fn identify(&self, grant: &TokenGrant) -> Result<Identity, ProviderError> {
        Ok(self.userinfo(&grant.tokens.access_token).await?.into())
    }

    async fn identify_token(&self, token: &AccessToken) -> Result<Identity, ProviderError> {
        Ok(self.member_of(token).await?.into())
    }

    async fn check_access_token(&self, token: &AccessToken) -> Result<(), ProviderError> {
        Ok(LinkedInClient::check_access_token(self, token).await?)
    }

    async fn introspect(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        Ok(LinkedInClient::introspect(self, token, now).await?)
    }
}
