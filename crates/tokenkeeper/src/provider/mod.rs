//! The provider port: what tokenkeeper needs from a network, behind one trait, so that the
//! refresh engine, the connect flow, the import and the doctor never know which network they
//! talk to. Each network is one module below this one (`linkedin/`, `x`, `google`, `tiktok`,
//! `meta/` for Instagram, Threads and Facebook) that implements [`Provider`] and is the only
//! place that knows that network's endpoints and quirks; those that speak RFC 6749 are thin
//! configurations of `oauth2/`, which also serves any standard server.
//!
//! What stays shared lives here: the failure taxonomy (`error`), grants, renewals and the
//! refresh-token rule (`grant`), the authorize URL and PKCE (`authorize`), reading bodies of
//! bounded size (`body`) and `Retry-After` (`retry_after`), and [`Providers`], the registry the
//! service is assembled with.

mod authorize;
pub(crate) mod body;
mod error;
pub mod google;
mod grant;
pub mod linkedin;
pub mod meta;
pub mod oauth2;
pub mod oidc;
mod registry;
pub(crate) mod retry_after;
pub(crate) mod scrub;
pub mod tiktok;
pub mod x;

#[cfg(test)]
mod tests;

pub use authorize::{AuthorizeRequest, AuthorizeStyle, PkceVerifier};
pub use error::{Failure, FailureClass, ProviderError};
pub use grant::{
    keep_or_replace_refresh_token, HeldGrant, Identity, Introspection, Renewal, TokenGrant,
};

use crate::domain::{AccessToken, ExpiryPolicy, ProviderKind, ProviderName};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// What a network offers beyond the code exchange, so callers ask only what can be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub pkce: Pkce,
    pub refresh: RefreshStyle,
    pub rotation: Rotation,
    /// `Provider::revoke` works (X, Google, TikTok, Facebook; not LinkedIn).
    pub revocation: bool,
    /// `Provider::introspect` works (LinkedIn, Facebook's `debug_token`).
    pub introspection: bool,
}

/// Whether the connect flow sends a PKCE challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    /// Never: LinkedIn's web apps fail the exchange when a verifier comes along.
    Off,
    /// Sent, and the network may ignore it (Google).
    Optional,
    /// The network refuses a flow without it (X).
    Required,
}

/// How an access token is renewed without the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStyle {
    /// RFC 6749's `grant_type=refresh_token`, when the grant came with a refresh token.
    RefreshToken,
    /// The network's own exchange of the live access token (Instagram's `ig_refresh_token`,
    /// Threads' `th_refresh_token`, Facebook's `fb_exchange_token`), inside its window.
    ExchangeAccessToken,
}

/// What a refresh does to the refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Sent back unchanged, or not at all (Google, LinkedIn): keep the stored one.
    Keeps,
    /// Each refresh issues a new one and the old one stops working (X, TikTok): the answer
    /// must be stored before anything else can fail, and two refreshes never overlap.
    SingleUse,
}

/// One network, as the rest of tokenkeeper uses it. Every call classifies its failures
/// (`ProviderError::class`); none logs a token.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider's configured name, as rows, URLs and metrics carry it (`linkedin`).
    fn name(&self) -> &ProviderName;

    /// Whose rules it follows.
    fn kind(&self) -> ProviderKind;

    /// The network as people write it ("LinkedIn"), for pages, emails and error texts.
    fn display_name(&self) -> &str;

    fn capabilities(&self) -> Capabilities;

    /// The longest a single call may take.
    fn timeout(&self) -> Duration;

    /// Whatever must be known before the first call (an OpenID issuer's discovery document).
    /// The connect flow asks it before `authorize_url`; a failure is transient.
    async fn prepare(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// The URL of the network's consent page for one connect attempt.
    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url;

    /// Trades the authorization code from the callback for tokens. Codes are single-use: only
    /// a request that got no answer at all may be sent again. A member is waiting.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        pkce: Option<&PkceVerifier>,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError>;

    /// Renews the held tokens, in the network's own way (`Capabilities::refresh`). One call,
    /// never retried here: the engine paces and retries.
    async fn refresh(
        &self,
        held: &HeldGrant<'_>,
        now: DateTime<Utc>,
    ) -> Result<Renewal, ProviderError>;

    /// Who just consented, with the fresh grant (retried briefly: a member is waiting, and a
    /// brand-new token may be refused for a few seconds).
    async fn identify(&self, grant: &TokenGrant) -> Result<Identity, ProviderError>;

    /// Who holds a stored access token, asked once: a refusal is an answer (an import's token
    /// without its member).
    async fn identify_token(&self, token: &AccessToken) -> Result<Identity, ProviderError>;

    /// Whether the network still takes a stored access token, asked once (the host app
    /// reported it rejected). A permanent failure means it does not.
    async fn check_access_token(&self, token: &AccessToken) -> Result<(), ProviderError> {
        self.identify_token(token).await.map(|_| ())
    }

    /// What the network knows about an access token, where it can tell
    /// (`Capabilities::introspection`). One call, no retry.
    async fn introspect(
        &self,
        _token: &AccessToken,
        _now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        Err(unsupported(self.display_name(), "introspection"))
    }

    /// Ends the grant at the network, where it can (`Capabilities::revocation`).
    async fn revoke(&self, _token: &AccessToken) -> Result<(), ProviderError> {
        Err(unsupported(self.display_name(), "revocation"))
    }

    /// When the next refresh is due after linking or refreshing, given the operator's
    /// `[refresh]` policy. LinkedIn takes it as it is (50 days after linking by default); a
    /// network with short or use-it-or-lose-it tokens sets its own.
    fn expiry_policy(&self, configured: ExpiryPolicy) -> ExpiryPolicy {
        configured
    }
}

/// Asking a network for what it does not offer: our mistake, never the member's.
pub fn unsupported(network: &str, what: &'static str) -> ProviderError {
    ProviderError::new(network, Failure::Unsupported(what))
}

/// The providers this service runs with, by configured name. A row may name a provider the
/// configuration no longer has: looking one up says so, and the caller treats it as the
/// operator's to fix (`Providers::get`).
#[derive(Clone)]
pub struct Providers {
    by_name: BTreeMap<ProviderName, Arc<dyn Provider>>,
    /// The least life a read may be answered with, per provider (`min_validity_seconds`).
    min_validity: BTreeMap<ProviderName, chrono::Duration>,
}

impl Providers {
    /// The providers `config` describes: LinkedIn from `[linkedin]`, then each
    /// `[providers.NAME]` (`registry.rs`).
    pub fn from_config(config: &crate::config::Config) -> Result<Self, ProviderError> {
        registry::build(config)
    }

    /// `providers`, each read no closer to its end than its `min_validity`. LinkedIn's must
    /// be among them.
    pub fn new(providers: impl IntoIterator<Item = (Arc<dyn Provider>, chrono::Duration)>) -> Self {
        let mut built = Self {
            by_name: BTreeMap::new(),
            min_validity: BTreeMap::new(),
        };
        for (provider, min_validity) in providers {
            built
                .min_validity
                .insert(provider.name().clone(), min_validity);
            built.by_name.insert(provider.name().clone(), provider);
        }
        assert!(
            built.by_name.contains_key(ProviderName::linkedin_ref()),
            "LinkedIn is always configured"
        );
        built
    }

    /// The least life left a read of `name`'s tokens is answered with (60 s unless
    /// configured).
    pub fn min_validity(&self, name: &ProviderName) -> chrono::Duration {
        self.min_validity
            .get(name)
            .copied()
            .unwrap_or(chrono::Duration::seconds(60))
    }

    /// The provider named `name`, if configured.
    pub fn find(&self, name: &ProviderName) -> Option<&Arc<dyn Provider>> {
        self.by_name.get(name)
    }

    /// The provider named `name`, or the error of a row naming one the configuration lost:
    /// the operator's to fix, never the member's.
    pub fn get(&self, name: &ProviderName) -> Result<&Arc<dyn Provider>, ProviderError> {
        self.find(name).ok_or_else(|| {
            ProviderError::new(
                name.as_str(),
                Failure::Unsupported("this provider: it is not configured"),
            )
        })
    }

    /// The provider a caller (a request, an import row) names, or why the name is refused: it
    /// lists the configured ones, so a typo reads as a typo, not as "no account".
    pub fn named(&self, name: &ProviderName) -> Result<&Arc<dyn Provider>, NotConfigured> {
        self.find(name).ok_or_else(|| NotConfigured {
            name: name.clone(),
            configured: self.by_name.keys().map(ProviderName::to_string).collect(),
        })
    }

    /// LinkedIn's provider: the connect flow's and the import's until they name a network.
    pub fn linkedin(&self) -> &Arc<dyn Provider> {
        self.find(ProviderName::linkedin_ref())
            .expect("LinkedIn is configured (checked when built)")
    }

    /// Every provider, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&ProviderName, &Arc<dyn Provider>)> {
        self.by_name.iter()
    }
}

/// A provider name a caller gave that the configuration does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider \"{name}\" is not configured; configured: {}", configured.join(", "))]
pub struct NotConfigured {
    pub name: ProviderName,
    pub configured: Vec<String>,
}

impl From<linkedin::LinkedInClient> for Providers {
    fn from(client: linkedin::LinkedInClient) -> Self {
        Self::new([(
            Arc::new(client) as Arc<dyn Provider>,
            chrono::Duration::seconds(60),
        )])
    }
}
