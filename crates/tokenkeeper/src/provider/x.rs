//! X (Twitter) OAuth 2.0, user context: the standard flow with PKCE required, HTTP Basic for
//! confidential clients, a refresh token only with `offline.access`, single-use refresh
//! tokens that rotate on every refresh, and `400 invalid_request` where others say
//! `invalid_grant` (a spent or dead refresh token, a bad code).

use super::oauth2::{self, known_url, ClientAuth, Dialect, OAuth2Client, OAuth2Settings};
use super::{FailureClass, Identity, Pkce, ProviderError, Rotation};
use crate::domain::{KeepAlive, ProviderKind, ProviderName};
use secrecy::SecretString;
use serde_json::Value;

/// Without it X sends no refresh token, and the account dies with its two-hour access token.
pub const OFFLINE_ACCESS: &str = "offline.access";

/// A refresh token's life, reported as six months from its issue (not in X's docs). Each
/// refresh issues a new one, so using the chain within it keeps the account alive.
const REFRESH_TOKEN_LIFE_DAYS: i64 = 180;

/// X's endpoints and rules for this client. A public client has no secret and names itself
/// in the form body; a confidential one authenticates with Basic, as X requires.
pub fn settings(
    name: ProviderName,
    client_id: impl Into<String>,
    client_secret: Option<SecretString>,
) -> OAuth2Settings {
    OAuth2Settings {
        revocation_url: Some(known_url("https://api.x.com/2/oauth2/revoke")),
        userinfo_url: Some(known_url("https://api.x.com/2/users/me")),
        client_auth: ClientAuth::Basic,
        scopes: ["tweet.read", "users.read", OFFLINE_ACCESS]
            .map(String::from)
            .to_vec(),
        pkce: Pkce::Required,
        keeps_alive: KeepAlive::RefreshToken {
            idle_life: Some(chrono::Duration::days(REFRESH_TOKEN_LIFE_DAYS)),
        },
        ..OAuth2Settings::standard(
            name,
            ProviderKind::X,
            client_id,
            client_secret,
            known_url("https://x.com/i/oauth2/authorize"),
            known_url("https://api.x.com/2/oauth2/token"),
        )
    }
}

/// The provider for `settings` (from [`settings`], endpoints possibly overridden). Whatever
/// the scopes configured, `offline.access` is asked for and PKCE is sent: X refuses a flow
/// without it, and gives no refresh token without the scope.
pub fn client(mut settings: OAuth2Settings) -> Result<OAuth2Client<X>, ProviderError> {
    if !settings.scopes.iter().any(|s| s == OFFLINE_ACCESS) {
        settings.scopes.push(OFFLINE_ACCESS.into());
    }
    settings.pkce = Pkce::Required;
    OAuth2Client::new(settings, X)
}

/// X's provider.
pub type XClient = OAuth2Client<X>;

/// X's answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct X;

impl Dialect for X {
    fn rotation(&self) -> Rotation {
        Rotation::SingleUse
    }

    /// A spent, revoked or expired refresh token (and a bad code) is `400 invalid_request`
    /// "Value passed for the token was invalid.": the member must connect again. A missing
    /// parameter is still ours.
    fn token_error(&self, status: u16, body: &oauth2::OAuthErrorBody) -> FailureClass {
        if status == 400
            && body.error == "invalid_request"
            && !oauth2::names_a_missing_parameter(&body.error_description)
        {
            return FailureClass::Permanent;
        }
        oauth2::token_error(status, &body.error, &body.error_description)
    }

    /// `/2/users/me`: `{"data": {"id", "name", "username"}}`; X gives no email here.
    fn identity(&self, body: &Value) -> Option<Identity> {
        let data = body.get("data")?;
        let text = |field: &str| data.get(field).and_then(Value::as_str).map(str::to_owned);
        Some(Identity {
            subject: text("id").filter(|s| !s.is_empty())?,
            name: text("name"),
            email: None,
        })
    }

    /// X's API errors are problem documents: `{"title": "Unauthorized", ...}`.
    fn api_error_code(&self, body: &Value) -> Option<String> {
        body.get("title").and_then(Value::as_str).map(str::to_owned)
    }
}
