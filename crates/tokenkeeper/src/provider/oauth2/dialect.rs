//! Where a named network departs from RFC 6749 in what it answers: how its errors read, who a
//! token belongs to, whether refresh tokens rotate. Everything it sends (endpoints, client
//! authentication, scopes, extra parameters) is data in `OAuth2Settings`; everything it
//! answers that the standard does not fix is a method here, the standard's by default.

use super::classify;
use super::responses::OAuthErrorBody;
use crate::provider::{FailureClass, Identity, Rotation};
use serde_json::Value;

pub trait Dialect: Send + Sync + 'static {
    /// What a refresh does to the refresh token. RFC 6749 lets a server send a new one, and
    /// the engine stores whatever comes back; `SingleUse` also tells it to wait for an answer
    /// it has asked for even when stopping. A server is taken to rotate unless its network is
    /// known not to (Google): many do (Keycloak, Auth0, Okta with rotation on), and waiting for
    /// a server that keeps its tokens costs only a prompt stop.
    fn rotation(&self) -> Rotation {
        Rotation::SingleUse
    }

    /// An error answer of the token endpoint.
    fn token_error(&self, status: u16, body: &OAuthErrorBody) -> FailureClass {
        classify::token_error(status, &body.error, &body.error_description)
    }

    /// Query parameters the userinfo call needs (TikTok answers only the fields asked for).
    fn userinfo_query(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Who the userinfo answer names: OIDC's `sub`, `name`, `email` by default.
    fn identity(&self, body: &Value) -> Option<Identity> {
        let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
        Some(Identity {
            subject: text("sub").filter(|s| !s.is_empty())?,
            name: text("name"),
            email: text("email"),
        })
    }

    /// The error code of a refused userinfo call, for logs: RFC 6750's `error` by default.
    fn api_error_code(&self, body: &Value) -> Option<String> {
        body.get("error").and_then(Value::as_str).map(str::to_owned)
    }

    /// The member a token response names, when it names one (TikTok's `open_id`).
    fn token_subject(&self, _body: &Value) -> Option<String> {
        None
    }
}

/// A server that follows RFC 6749 and OpenID Connect's userinfo as written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standard;

impl Dialect for Standard {}
