//! Google's OAuth 2.0 (YouTube included): a refresh token only with `access_type=offline`,
//! and on a later consent only with `prompt=consent`; none on refresh; refresh tokens that
//! die after six months unused, after seven days for apps in testing, or when a member holds
//! more than the limit; `invalid_grant` "Token has been expired or revoked."

use super::common::{self, ClientAuth};
use super::world::{AccessKind, World};
use super::NetworkControls;
use crate::state::Member;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<NetworkControls> {
    Router::new()
        .route("/o/oauth2/v2/auth", get(common::authorize))
        .route("/token", post(common::token::<Google>))
        .route("/revoke", post(common::revoke::<Google>))
        .route("/v1/userinfo", get(common::me::<Google>))
        .route("/.well-known/openid-configuration", get(discovery))
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(crate) struct Google;

impl common::TokenEndpoint for Google {
    /// Google takes the client's credentials as Basic or in the body.
    fn client_refused(
        world: &World,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Option<Response> {
        let ways = [ClientAuth::Basic, ClientAuth::Body("client_id")];
        let ok = common::client_authenticated(world, headers, form, &ways);
        (!ok).then(|| error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized"))
    }

    fn answer(world: &mut World, form: &HashMap<String, String>) -> Response {
        let field = |name: &str| form.get(name).map(String::as_str);
        let ttl = common::access_ttl(world);
        match field("grant_type") {
            Some("authorization_code") => {
                let redeemed = field("code").and_then(|code| {
                    world.redeem_code(code, field("redirect_uri"), field("code_verifier"))
                });
                let Some(code) = redeemed else {
                    return error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
                };
                let grant = world.new_grant(&code.member);
                let access_token = world.issue_access(grant, &code.scope, AccessKind::Bearer, ttl);
                let mut body = json!({
                    "access_token": access_token,
                    "expires_in": ttl.num_seconds(),
                    "scope": code.scope.join(" "),
                    "token_type": "Bearer",
                });
                if code.scope.iter().any(|s| s == "openid") {
                    body["id_token"] = id_token(world, &code.member).into();
                }
                let offline = code.params.get("access_type").map(String::as_str) == Some("offline");
                // Without a consent screen there is no refresh token: only the first consent
                // shows one, unless the app forces it.
                let consent_shown = !world.offline_granted.contains(&code.member)
                    || code
                        .params
                        .get("prompt")
                        .is_some_and(|p| p.split(' ').any(|p| p == "consent"));
                if offline && consent_shown {
                    body["refresh_token"] = world.issue_refresh(grant, &code.scope, None).into();
                    world.offline_granted.insert(code.member.clone());
                    enforce_refresh_token_limit(world, &code.member);
                }
                Json(body).into_response()
            }
            Some("refresh_token") => {
                let idle_life = common::refresh_ttl(world);
                let used = field("refresh_token")
                    .ok_or(())
                    .and_then(|t| world.use_refresh(t, false, Some(idle_life)).map_err(|_| ()));
                let Ok((grant, scope, _)) = used else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Token has been expired or revoked.",
                    );
                };
                // Never a new refresh token: the one the client holds goes on.
                let access_token = world.issue_access(grant, &scope, AccessKind::Bearer, ttl);
                Json(json!({
                    "access_token": access_token,
                    "expires_in": ttl.num_seconds(),
                    "scope": scope.join(" "),
                    "token_type": "Bearer",
                }))
                .into_response()
            }
            _ => error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type: ",
            ),
        }
    }

    const REVOKE_AUTHENTICATES: bool = false;

    /// Revoking either token of a grant ends the grant; a dead token is `invalid_token`.
    fn revoke(world: &mut World, token: &str) -> Response {
        let grant = match world.accepted(token) {
            Some((access, _)) => Some(access.grant),
            None if world.refresh_usable(token) => world.refresh.get(token).map(|r| r.grant),
            None => None,
        };
        let Some(grant) = grant else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Token expired or revoked",
            );
        };
        world.kill_grant(grant);
        Json(json!({})).into_response()
    }
}

/// One refresh token past the limit silently kills the member's oldest.
fn enforce_refresh_token_limit(world: &mut World, member: &str) {
    let mut live: Vec<u64> = world
        .refresh
        .values()
        .map(|r| r.grant)
        .filter(|g| world.grant_alive(*g) && world.grants[g].member == member)
        .collect();
    live.sort_unstable();
    live.dedup();
    let excess = live
        .len()
        .saturating_sub(world.config.google_refresh_token_limit);
    for grant in live.into_iter().take(excess) {
        world.kill_grant(grant);
    }
}

/// An unsigned ID token with the claims a client reads.
fn id_token(world: &World, member: &str) -> String {
    use base64::Engine;
    let encode = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = world.now().timestamp();
    let member = world.member(member);
    format!(
        "{}.{}.fake-signature",
        encode(json!({"alg": "RS256", "typ": "JWT"})),
        encode(json!({
            "iss": "https://accounts.google.com",
            "aud": world.config.client_id,
            "sub": member.sub,
            "email": member.email,
            "iat": now,
            "exp": now + 3600,
        }))
    )
}

impl common::Identity for Google {
    fn member(_: &World, member: &Member, _: &HashMap<String, String>) -> Response {
        Json(json!({
            "sub": member.sub,
            "name": member.name,
            "given_name": member.given_name,
            "family_name": member.family_name,
            "picture": "https://lh3.googleusercontent.com/a/fake",
            "email": member.email,
            "email_verified": member.email.is_some(),
        }))
        .into_response()
    }

    fn refused(_: &World, _: Option<&str>) -> Response {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "Invalid Credentials",
        )
    }
}

/// Google's discovery document, with this fake's own address in place of Google's hosts.
async fn discovery(headers: HeaderMap) -> Response {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/o/oauth2/v2/auth"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/v1/userinfo"),
        "revocation_endpoint": format!("{base}/revoke"),
        "response_types_supported": ["code", "token", "id_token", "code id_token", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
    }))
    .into_response()
}
