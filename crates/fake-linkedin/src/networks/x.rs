//! X (Twitter) OAuth 2.0 with PKCE: HTTP Basic for confidential clients, a refresh token only
//! with `offline.access`, single-use refresh tokens whose reuse kills the whole grant, and
//! `400 invalid_request` where other networks say `invalid_grant`.

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
        .route("/i/oauth2/authorize", get(common::authorize))
        .route("/2/oauth2/token", post(common::token::<X>))
        .route("/2/oauth2/revoke", post(common::revoke::<X>))
        .route("/2/users/me", get(common::me::<X>))
}

fn invalid_request(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "error_description": description})),
    )
        .into_response()
}

pub(crate) struct X;

impl common::TokenEndpoint for X {
    /// The client must be a confidential one with Basic, or a public one naming itself.
    fn client_refused(
        world: &World,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Option<Response> {
        let way = if world.config.confidential_client {
            ClientAuth::Basic
        } else {
            ClientAuth::PublicBody
        };
        if common::client_authenticated(world, headers, form, &[way]) {
            return None;
        }
        Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({
                    "error": "unauthorized_client",
                    "error_description": "Missing valid authorization header",
                })),
            )
                .into_response(),
        )
    }

    fn answer(world: &mut World, form: &HashMap<String, String>) -> Response {
        let field = |name: &str| form.get(name).map(String::as_str);
        let (grant, scope) = match field("grant_type") {
            Some("authorization_code") => {
                let redeemed = field("code").and_then(|code| {
                    world.redeem_code(code, field("redirect_uri"), field("code_verifier"))
                });
                let Some(code) = redeemed else {
                    return invalid_request("Value passed for the authorization code was invalid.");
                };
                (world.new_grant(&code.member), code.scope)
            }
            Some("refresh_token") => {
                let used = field("refresh_token")
                    .ok_or(())
                    .and_then(|t| world.use_refresh(t, true, None).map_err(|_| ()));
                let Ok((grant, scope, _)) = used else {
                    return invalid_request("Value passed for the token was invalid.");
                };
                (grant, scope)
            }
            _ => return invalid_request("Missing required parameter [grant_type]."),
        };
        let ttl = common::access_ttl(world);
        let access_token = world.issue_access(grant, &scope, AccessKind::Bearer, ttl);
        let mut body = json!({
            "token_type": "bearer",
            "expires_in": ttl.num_seconds(),
            "access_token": access_token,
            "scope": scope.join(" "),
        });
        // "If this scope is not passed, we will not generate a refresh token."
        if scope.iter().any(|s| s == "offline.access") {
            let end = world.now() + common::refresh_ttl(world);
            body["refresh_token"] = world.issue_refresh(grant, &scope, Some(end)).into();
        }
        Json(body).into_response()
    }

    /// Revoking either token of a grant ends the grant; an unknown token is revoked already.
    fn revoke(world: &mut World, token: &str) -> Response {
        let grant = (world.access.get(token).map(|a| a.grant))
            .or_else(|| world.refresh.get(token).map(|r| r.grant));
        if let Some(grant) = grant {
            world.kill_grant(grant);
        }
        Json(json!({"revoked": true})).into_response()
    }
}

impl common::Identity for X {
    fn member(_: &World, member: &Member, _: &HashMap<String, String>) -> Response {
        let username = member.name.to_lowercase().replace(' ', "_");
        Json(json!({"data": {"id": member.sub, "name": member.name, "username": username}}))
            .into_response()
    }

    fn refused(_: &World, _: Option<&str>) -> Response {
        let body = json!({
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        });
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    }
}
