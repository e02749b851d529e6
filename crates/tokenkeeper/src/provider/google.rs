//! Google's OAuth 2.0 (YouTube included): the standard flow, with `access_type=offline` for a
//! refresh token and `prompt=consent` so that a member connecting again gets one too (Google
//! sends one only on a consent screen). A refresh never returns a refresh token: the stored one
//! stays (`keep_or_replace_refresh_token`). A refresh token dies after six months unused, so
//! the scheduled refresh keeps it used.

use super::oauth2::{known_url, ClientAuth, Dialect, OAuth2Client, OAuth2Settings};
use super::{Pkce, ProviderError, Rotation};
use crate::domain::{KeepAlive, ProviderKind, ProviderName};
use secrecy::SecretString;

/// "Unused for six months": 180 days is inside every reading of it.
const REFRESH_TOKEN_IDLE_DAYS: i64 = 180;

/// Google's endpoints and rules for this client.
pub fn settings(
    name: ProviderName,
    client_id: impl Into<String>,
    client_secret: SecretString,
) -> OAuth2Settings {
    OAuth2Settings {
        revocation_url: Some(known_url("https://oauth2.googleapis.com/revoke")),
        userinfo_url: Some(known_url(
            "https://openidconnect.googleapis.com/v1/userinfo",
        )),
        // Google takes Basic too; the form body is what its own libraries send.
        client_auth: ClientAuth::Post,
        scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
        authorize_params: vec![
            ("access_type".into(), "offline".into()),
            ("prompt".into(), "consent".into()),
        ],
        pkce: Pkce::Optional,
        keeps_alive: KeepAlive::RefreshToken {
            idle_life: Some(chrono::Duration::days(REFRESH_TOKEN_IDLE_DAYS)),
        },
        ..OAuth2Settings::standard(
            name,
            ProviderKind::Google,
            client_id,
            Some(client_secret),
            known_url("https://accounts.google.com/o/oauth2/v2/auth"),
            known_url("https://oauth2.googleapis.com/token"),
        )
    }
}

/// Google's provider.
pub type GoogleClient = OAuth2Client<Google>;

/// Google follows the standard and OIDC's userinfo (`sub`) as written, and never sends a new
/// refresh token on refresh: the one it gave at consent stays.
#[derive(Debug, Clone, Copy, Default)]
pub struct Google;

impl Dialect for Google {
    fn rotation(&self) -> Rotation {
        Rotation::Keeps
    }
}

/// The provider for `settings` (from [`settings`], endpoints possibly overridden).
pub fn client(settings: OAuth2Settings) -> Result<OAuth2Client<Google>, ProviderError> {
    OAuth2Client::new(settings, Google)
}
