//! The authorize URL every network builds the same way with its own spelling: the parameter
//! that names the client (`client_id`, TikTok's `client_key`), the scope separator (a space,
//! or a comma for TikTok, Instagram and Threads), PKCE where the network wants it, and the
//! extra parameters a network needs (Google's `access_type=offline` and `prompt=consent`).

use crate::secret_values::random_token;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use url::Url;

/// One connect attempt's part of the authorize URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    pub state: &'a str,
    pub redirect_uri: &'a Url,
    /// Present when the provider uses PKCE (`Capabilities::pkce`); its verifier is kept for the
    /// code exchange.
    pub pkce: Option<&'a PkceVerifier>,
}

/// How a network spells its authorize URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeStyle<'a> {
    /// `client_id`, or `client_key` at TikTok.
    pub client_param: &'a str,
    /// `" "` (RFC 6749), or `","`.
    pub scope_separator: &'a str,
}

impl AuthorizeStyle<'static> {
    pub const STANDARD: AuthorizeStyle<'static> = AuthorizeStyle {
        client_param: "client_id",
        scope_separator: " ",
    };
}

impl AuthorizeStyle<'_> {
    /// `base` with `response_type`, the client, `redirect_uri`, `scope`, `state` (in this
    /// order), then PKCE's challenge and the network's extra parameters.
    pub fn url<'s>(
        &self,
        base: &Url,
        client_id: &str,
        scopes: impl IntoIterator<Item = &'s str>,
        request: &AuthorizeRequest<'_>,
        extra: &[(&str, &str)],
    ) -> Url {
        let scope = scopes
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(self.scope_separator);
        let mut url = base.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair(self.client_param, client_id)
                .append_pair("redirect_uri", request.redirect_uri.as_str())
                .append_pair("scope", &scope)
                .append_pair("state", request.state);
            if let Some(pkce) = request.pkce {
                query
                    .append_pair("code_challenge", &pkce.challenge())
                    .append_pair("code_challenge_method", "S256");
            }
            for (key, value) in extra {
                query.append_pair(key, value);
            }
        }
        url
    }
}

pub use crate::domain::PkceVerifier;

impl PkceVerifier {
    /// A fresh verifier: 43 URL-safe characters from 32 random bytes. Secret until the code
    /// exchange sends it.
    pub fn fresh() -> Self {
        Self::new(random_token(32))
    }

    /// `S256`: base64url(SHA-256(verifier)), without padding.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.expose().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback() -> Url {
        Url::parse("https://keeper.example/oauth/x/callback").unwrap()
    }

    #[test]
    fn the_s256_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            verifier.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(PkceVerifier::fresh().expose().len(), 43);
        assert!(!format!("{verifier:?}").contains("dBjft"));
    }

    #[test]
    fn a_networks_spelling_names_the_client_and_joins_the_scopes() {
        let tiktok = AuthorizeStyle {
            client_param: "client_key",
            scope_separator: ",",
        };
        let redirect = callback();
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let request = AuthorizeRequest {
            state: "s1",
            redirect_uri: &redirect,
            pkce: Some(&verifier),
        };
        let url = tiktok.url(
            &Url::parse("https://www.tiktok.com/v2/auth/authorize/").unwrap(),
            "key",
            ["user.info.basic", "video.publish"],
            &request,
            &[("prompt", "consent")],
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("response_type", "code"),
                ("client_key", "key"),
                ("redirect_uri", "https://keeper.example/oauth/x/callback"),
                ("scope", "user.info.basic,video.publish"),
                ("state", "s1"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                ),
                ("code_challenge_method", "S256"),
                ("prompt", "consent"),
            ]
        );
    }
}
