//! OpenID Connect Discovery 1.0: what an issuer says about itself at
//! `<issuer>/.well-known/openid-configuration`, read once when an `oidc` provider is built.
//!
//! The document is trusted only for the issuer it was asked of (§4.3: its `issuer` must be
//! identical to the configured one, else another server's endpoints could be slipped in), and
//! only with the endpoints the service cannot do without.

use serde::Deserialize;
use url::Url;

/// A discovery document larger than this is refused: real ones are a few kilobytes.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The path RFC 8414 and OIDC Discovery §4 append to the issuer.
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// What the service uses of an issuer's discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: Url,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub userinfo_endpoint: Option<Url>,
    /// RFC 7009; none when the server does not say.
    pub revocation_endpoint: Option<Url>,
    /// RFC 7662; none when the server does not say.
    pub introspection_endpoint: Option<Url>,
    /// `client_secret_basic` when the document lists none, as RFC 8414 §2 says.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Empty when the document lists none: then the server is not known to take PKCE.
    pub code_challenge_methods_supported: Vec<String>,
    /// Empty when the document lists none (the field is only recommended).
    pub scopes_supported: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot reach the OpenID discovery document at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the OpenID discovery document at {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the OpenID discovery document at {url} is not a JSON object: {reason}")]
    NotJson { url: String, reason: String },
    #[error(
        "the OpenID discovery document at {url} names the issuer {found:?}, not {configured:?} \
         as configured; they must be identical (OpenID Connect Discovery 1.0 §4.3)"
    )]
    IssuerMismatch {
        url: String,
        configured: String,
        found: String,
    },
    #[error("the OpenID discovery document at {url} has no {field}")]
    MissingEndpoint { url: String, field: &'static str },
    #[error("the OpenID discovery document at {url} gives {field} {value:?}, not an http(s) URL")]
    BadEndpoint {
        url: String,
        field: &'static str,
        value: String,
    },
}

/// The document as sent: every field optional, so that a missing one is named, not reported
/// as serde's "missing field".
#[derive(Deserialize)]
struct Document {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
    scopes_supported: Option<Vec<String>>,
}

impl Discovery {
    /// Where `issuer` publishes its document: the issuer without a trailing `/`, then
    /// `/.well-known/openid-configuration` (§4.1).
    pub fn url(issuer: &Url) -> Url {
        let base = issuer.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{WELL_KNOWN}")).expect("an issuer with a path appended is a URL")
    }

    /// Reads `issuer`'s document with `http` (whose timeout bounds the call).
    pub async fn fetch(http: &reqwest::Client, issuer: &Url) -> Result<Self, DiscoveryError> {
        let url = Self::url(issuer);
        let unreachable = |e: reqwest::Error| DiscoveryError::Unreachable {
            url: url.to_string(),
            reason: e.without_url().to_string(),
        };
        let answer = http.get(url.clone()).send().await.map_err(unreachable)?;
        if !answer.status().is_success() {
            return Err(DiscoveryError::Status {
                url: url.to_string(),
                status: answer.status().as_u16(),
            });
        }
        let body = answer.bytes().await.map_err(unreachable)?;
        Self::parse(issuer, &url, &body)
    }

    /// The document `body`, read from `url`, checked against the configured `issuer`.
    pub fn parse(issuer: &Url, url: &Url, body: &[u8]) -> Result<Self, DiscoveryError> {
        let not_json = |reason: String| DiscoveryError::NotJson {
            url: url.to_string(),
            reason,
        };
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(not_json(format!("{} bytes is too large", body.len())));
        }
        let document: Document =
            serde_json::from_slice(body).map_err(|e| not_json(e.to_string()))?;
        let found = document.issuer.unwrap_or_default();
        if !same_issuer(issuer, &found) {
            return Err(DiscoveryError::IssuerMismatch {
                url: url.to_string(),
                configured: issuer.to_string(),
                found,
            });
        }
        let endpoint = |field: &'static str, value: Option<String>| -> Result<Option<Url>, _> {
            let Some(value) = value else { return Ok(None) };
            match Url::parse(&value) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(Some(parsed)),
                _ => Err(DiscoveryError::BadEndpoint {
                    url: url.to_string(),
                    field,
                    value,
                }),
            }
        };
        let required = |field: &'static str, value: Option<String>| {
            endpoint(field, value)?.ok_or_else(|| DiscoveryError::MissingEndpoint {
                url: url.to_string(),
                field,
            })
        };
        Ok(Self {
            issuer: issuer.clone(),
            authorization_endpoint: required(
                "authorization_endpoint",
                document.authorization_endpoint,
            )?,
            token_endpoint: required("token_endpoint", document.token_endpoint)?,
            userinfo_endpoint: endpoint("userinfo_endpoint", document.userinfo_endpoint)?,
            revocation_endpoint: endpoint("revocation_endpoint", document.revocation_endpoint)?,
            introspection_endpoint: endpoint(
                "introspection_endpoint",
                document.introspection_endpoint,
            )?,
            token_endpoint_auth_methods_supported: document
                .token_endpoint_auth_methods_supported
                .unwrap_or_else(|| vec!["client_secret_basic".into()]),
            code_challenge_methods_supported: document
                .code_challenge_methods_supported
                .unwrap_or_default(),
            scopes_supported: document.scopes_supported.unwrap_or_default(),
        })
    }

    /// Whether the token endpoint takes this client authentication (`client_secret_post`).
    pub fn supports_auth_method(&self, method: &str) -> bool {
        self.token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == method)
    }

    /// Whether the server takes a PKCE challenge made with SHA-256.
    pub fn supports_pkce_s256(&self) -> bool {
        self.code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    }
}

/// §4.3's "identical", with the one difference the configuration cannot hold: a URL read
/// into `Url` gains a `/` when its path is empty (`https://id.example.com` is printed
/// `https://id.example.com/`), so an issuer without a path matches with or without it.
fn same_issuer(configured: &Url, found: &str) -> bool {
    let configured_text = configured.as_str();
    found == configured_text
        || (configured.path() == "/"
            && configured.query().is_none()
            && found == configured_text.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer() -> Url {
        Url::parse("https://id.example.com").unwrap()
    }

    fn read(document: serde_json::Value) -> Result<Discovery, DiscoveryError> {
        let body = serde_json::to_vec(&document).unwrap();
        Discovery::parse(&issuer(), &Discovery::url(&issuer()), &body)
    }

    fn minimal() -> serde_json::Value {
        json!({
            "issuer": "https://id.example.com",
            "authorization_endpoint": "https://id.example.com/auth",
            "token_endpoint": "https://id.example.com/token",
        })
    }

    #[test]
    fn the_document_is_read_next_to_the_issuer() {
        assert_eq!(
            Discovery::url(&issuer()).as_str(),
            "https://id.example.com/.well-known/openid-configuration"
        );
        let tenant = Url::parse("https://id.example.com/tenant/").unwrap();
        assert_eq!(
            Discovery::url(&tenant).as_str(),
            "https://id.example.com/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn what_the_document_leaves_out_takes_the_specification_s_default() {
        let found = read(minimal()).unwrap();
        assert_eq!(
            found.token_endpoint.as_str(),
            "https://id.example.com/token"
        );
        assert_eq!(
            found.token_endpoint_auth_methods_supported,
            ["client_secret_basic"]
        );
        assert!(found.supports_auth_method("client_secret_basic"));
        assert!(!found.supports_auth_method("client_secret_post"));
        assert!(!found.supports_pkce_s256());
        assert_eq!(found.revocation_endpoint, None);
        assert_eq!(found.introspection_endpoint, None);
        assert_eq!(found.userinfo_endpoint, None);
    }

    #[test]
    fn an_issuer_that_is_not_identical_is_refused() {
        for other in [
            "https://id.example.com/other",
            "https://ID.example.com",
            "http://id.example.com",
            "https://evil.example.com",
        ] {
            let mut document = minimal();
            document["issuer"] = other.into();
            let err = read(document).unwrap_err();
            assert!(
                matches!(err, DiscoveryError::IssuerMismatch { .. }),
                "{other}: {err}"
            );
            assert!(err.to_string().contains(other), "{err}");
        }
        let mut document = minimal();
        document.as_object_mut().unwrap().remove("issuer");
        assert!(matches!(
            read(document).unwrap_err(),
            DiscoveryError::IssuerMismatch { .. }
        ));
        // With a path, a trailing slash is a different issuer.
        let tenant = Url::parse("https://id.example.com/tenant").unwrap();
        let body = serde_json::to_vec(&json!({
            "issuer": "https://id.example.com/tenant/",
            "authorization_endpoint": "https://id.example.com/auth",
            "token_endpoint": "https://id.example.com/token",
        }))
        .unwrap();
        let err = Discovery::parse(&tenant, &Discovery::url(&tenant), &body).unwrap_err();
        assert!(
            matches!(err, DiscoveryError::IssuerMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_missing_or_unusable_endpoint_is_named() {
        for field in ["authorization_endpoint", "token_endpoint"] {
            let mut document = minimal();
            document.as_object_mut().unwrap().remove(field);
            let err = read(document).unwrap_err();
            assert!(
                matches!(err, DiscoveryError::MissingEndpoint { field: f, .. } if f == field),
                "{err}"
            );
            assert!(err.to_string().contains(field), "{err}");
        }
        let mut document = minimal();
        document["revocation_endpoint"] = "javascript:alert(1)".into();
        let err = read(document).unwrap_err();
        assert!(
            matches!(
                err,
                DiscoveryError::BadEndpoint {
                    field: "revocation_endpoint",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_refused() {
        for body in [&b"<html>sign in</html>"[..], b"[]", b""] {
            let err = Discovery::parse(&issuer(), &Discovery::url(&issuer()), body).unwrap_err();
            assert!(matches!(err, DiscoveryError::NotJson { .. }), "{err}");
        }
    }

    #[tokio::test]
    async fn an_issuer_nobody_answers_for_is_unreachable() {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let issuer = Url::parse(&format!("http://127.0.0.1:{closed}")).unwrap();
        let err = Discovery::fetch(&reqwest::Client::new(), &issuer)
            .await
            .unwrap_err();
        assert!(matches!(err, DiscoveryError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{closed}")),
            "{err}"
        );
    }
}
