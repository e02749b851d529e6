//! TikTok Login Kit v2: `client_key` instead of `client_id`, comma-separated scopes, the
//! client's credentials in the form body, refresh tokens that rotate within a chain ending 180
//! days after consent (`refresh_expires_in` counts down), the member's `open_id` in the token
//! response, and error bodies carrying a `log_id` its support asks for.

use super::oauth2::{known_url, ClientAuth, Dialect, OAuth2Client, OAuth2Settings};
use super::{Identity, Pkce, ProviderError, Rotation};
use crate::domain::{KeepAlive, ProviderKind, ProviderName};
use secrecy::SecretString;
use serde_json::Value;

/// TikTok's endpoints and rules for this client.
pub fn settings(
    name: ProviderName,
    client_key: impl Into<String>,
    client_secret: SecretString,
) -> OAuth2Settings {
    OAuth2Settings {
        revocation_url: Some(known_url("https://open.tiktokapis.com/v2/oauth/revoke/")),
        userinfo_url: Some(known_url("https://open.tiktokapis.com/v2/user/info/")),
        client_auth: ClientAuth::Post,
        client_id_param: "client_key".into(),
        scopes: vec!["user.info.basic".into()],
        scope_separator: ",".into(),
        // The code verifier is for mobile and desktop apps; a web app proves itself with its
        // secret.
        pkce: Pkce::Off,
        // The chain's end comes with every answer; nothing dies earlier for being unused.
        keeps_alive: KeepAlive::RefreshToken { idle_life: None },
        ..OAuth2Settings::standard(
            name,
            ProviderKind::TikTok,
            client_key,
            Some(client_secret),
            known_url("https://www.tiktok.com/v2/auth/authorize/"),
            known_url("https://open.tiktokapis.com/v2/oauth/token/"),
        )
    }
}

/// TikTok's provider.
pub type TikTokClient = OAuth2Client<TikTok>;

/// The provider for `settings` (from [`settings`], endpoints possibly overridden).
pub fn client(settings: OAuth2Settings) -> Result<OAuth2Client<TikTok>, ProviderError> {
    OAuth2Client::new(settings, TikTok)
}

/// TikTok's answers. Its token errors are RFC 6749's (`invalid_grant` for a dead refresh
/// token), so the standard classifier reads them; the `log_id` goes into the error text.
#[derive(Debug, Clone, Copy, Default)]
pub struct TikTok;

impl Dialect for TikTok {
    fn rotation(&self) -> Rotation {
        Rotation::SingleUse
    }

    /// TikTok answers only the fields asked for.
    fn userinfo_query(&self) -> &'static [(&'static str, &'static str)] {
        &[("fields", "open_id,display_name")]
    }

    /// `{"data": {"user": {"open_id", "display_name"}}, "error": {"code": "ok"}}`.
    fn identity(&self, body: &Value) -> Option<Identity> {
        let user = body.get("data")?.get("user")?;
        let text = |field: &str| user.get(field).and_then(Value::as_str).map(str::to_owned);
        Some(Identity {
            subject: text("open_id").filter(|s| !s.is_empty())?,
            name: text("display_name"),
            email: None,
        })
    }

    /// `{"error": {"code": "access_token_invalid", "message", "log_id"}}`.
    fn api_error_code(&self, body: &Value) -> Option<String> {
        let error = body.get("error")?;
        error.get("code").and_then(Value::as_str).map(str::to_owned)
    }

    /// `open_id`, the member's id for this app.
    fn token_subject(&self, body: &Value) -> Option<String> {
        body.get("open_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}
