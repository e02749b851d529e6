//! What an RFC 6749 provider needs to know, whoever fills it in: the configuration for a
//! generic server, or a named network's defaults (`x::settings`, `google::settings`,
//! `tiktok::settings`) with its endpoints overridable.

use crate::domain::{KeepAlive, ProviderKind, ProviderName};
use crate::provider::Pkce;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// One OAuth 2.0 provider's endpoints, client and spelling.
#[derive(Debug, Clone)]
pub struct OAuth2Settings {
    pub name: ProviderName,
    pub kind: ProviderKind,
    /// The network as people write it, in pages, emails and error texts.
    pub display_name: String,
    pub client_id: String,
    /// `None` for a public client, which names itself in the form body and proves nothing.
    pub client_secret: Option<SecretString>,
    pub authorize_url: Url,
    pub token_url: Url,
    /// RFC 7009; `None` when the network has none.
    pub revocation_url: Option<Url>,
    /// RFC 7662; `None` when the network has none (most).
    pub introspection_url: Option<Url>,
    /// Who holds a token (OIDC userinfo or the network's own "me"); `None` when only the
    /// token response tells.
    pub userinfo_url: Option<Url>,
    pub client_auth: ClientAuth,
    /// The parameter naming the client in the authorize URL and the form body: `client_id`,
    /// or TikTok's `client_key`.
    pub client_id_param: String,
    pub scopes: Vec<String>,
    /// `" "` (RFC 6749) or `","` (TikTok).
    pub scope_separator: String,
    /// Extra authorize parameters (Google's `access_type=offline`, `prompt=consent`).
    pub authorize_params: Vec<(String, String)>,
    pub pkce: Pkce,
    /// The longest a single call may take.
    pub timeout: Duration,
    /// How long the retries of a call a member waits for (the code exchange, identifying
    /// them) may go on in all.
    pub callback_retry_max_total: Duration,
    /// The life of an access token whose response says none (`expires_in` is only
    /// RECOMMENDED by RFC 6749).
    pub assumed_token_life: chrono::Duration,
    /// Which token the scheduled refresh keeps alive (`ExpiryPolicy::keeps_alive`).
    pub keeps_alive: KeepAlive,
}

/// How a confidential client proves itself at the token, revocation and introspection
/// endpoints. A public client (no secret) always names itself in the form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic (RFC 6749's default; X requires it).
    Basic,
    /// `client_secret_post`: the id and `client_secret` in the form body (TikTok, LinkedIn).
    Post,
}

impl OAuth2Settings {
    /// A standard server: Basic client authentication, `client_id`, space-separated scopes,
    /// PKCE sent (servers that do not know it ignore it), short-lived access tokens renewed
    /// when read while the scheduled refresh keeps the refresh token alive.
    pub fn standard(
        name: ProviderName,
        kind: ProviderKind,
        client_id: impl Into<String>,
        client_secret: Option<SecretString>,
        authorize_url: Url,
        token_url: Url,
    ) -> Self {
        Self {
            name,
            kind,
            display_name: kind.display_name().to_owned(),
            client_id: client_id.into(),
            client_secret,
            authorize_url,
            token_url,
            revocation_url: None,
            introspection_url: None,
            userinfo_url: None,
            client_auth: ClientAuth::Basic,
            client_id_param: "client_id".into(),
            scopes: Vec::new(),
            scope_separator: " ".into(),
            authorize_params: Vec::new(),
            pkce: Pkce::Optional,
            timeout: Duration::from_secs(10),
            callback_retry_max_total: Duration::from_secs(5),
            assumed_token_life: chrono::Duration::hours(1),
            keeps_alive: KeepAlive::RefreshToken { idle_life: None },
        }
    }
}

/// A network's own URL, written in its module: a constant that must parse.
pub(crate) fn known_url(url: &str) -> Url {
    Url::parse(url).expect("a network's documented URL parses")
}
