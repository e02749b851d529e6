//! TikTok Login Kit v2: `client_key` instead of `client_id`, comma-separated scopes, the
//! client's credentials in the form body only, rotating refresh tokens whose chain keeps its
//! end (`refresh_expires_in` counts down), and `{error, error_description, log_id}` bodies.

use super::common::{self, ClientAuth};
use super::world::{AccessKind, World};
use super::NetworkControls;
use crate::state::{random, Member};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<NetworkControls> {
    Router::new()
        .route("/v2/auth/authorize/", get(common::authorize))
        .route("/v2/oauth/token/", post(common::token::<TikTok>))
        .route("/v2/oauth/revoke/", post(common::revoke::<TikTok>))
        .route("/v2/user/info/", get(common::me::<TikTok>))
}

fn log_id() -> String {
    format!("2026{}", random(28).to_uppercase())
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description, "log_id": log_id()})),
    )
        .into_response()
}

pub(crate) struct TikTok;

impl common::TokenEndpoint for TikTok {
    /// HTTP Basic is ignored: without `client_key` in the body the request is malformed.
    fn client_refused(
        world: &World,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Option<Response> {
        if !form.contains_key("client_key") {
            return Some(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request parameters are malformed: client_key is missing.",
            ));
        }
        let ok =
            common::client_authenticated(world, headers, form, &[ClientAuth::Body("client_key")]);
        (!ok).then(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client key or secret is incorrect.",
            )
        })
    }

    fn answer(world: &mut World, form: &HashMap<String, String>) -> Response {
        let field = |name: &str| form.get(name).map(String::as_str);
        let (grant, scope, chain_end) = match field("grant_type") {
            Some("authorization_code") => {
                let redeemed = field("code").and_then(|code| {
                    world.redeem_code(code, field("redirect_uri"), field("code_verifier"))
                });
                let Some(code) = redeemed else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Authorization code is expired or invalid.",
                    );
                };
                let end = world.now() + common::refresh_ttl(world);
                (world.new_grant(&code.member), code.scope, end)
            }
            Some("refresh_token") => {
                let used = field("refresh_token")
                    .ok_or(())
                    .and_then(|t| world.use_refresh(t, true, None).map_err(|_| ()));
                let Ok((grant, scope, Some(end))) = used else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Refresh token is invalid or expired.",
                    );
                };
                (grant, scope, end)
            }
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "The grant type is not supported.",
                )
            }
        };
        let ttl = common::access_ttl(world);
        let access_token = world.issue_access(grant, &scope, AccessKind::Bearer, ttl);
        let refresh_token = world.issue_refresh(grant, &scope, Some(chain_end));
        let open_id = world.grants[&grant].member.clone();
        Json(json!({
            "access_token": access_token,
            "expires_in": ttl.num_seconds(),
            "open_id": open_id,
            "refresh_expires_in": (chain_end - world.now()).num_seconds(),
            "refresh_token": refresh_token,
            "scope": scope.join(","),
            "token_type": "Bearer",
        }))
        .into_response()
    }

    /// Revoking an access token removes the app from the member's connected apps.
    fn revoke(world: &mut World, token: &str) -> Response {
        let Some((_, member)) = world.accepted(token) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The access token is invalid or not found in the request.",
            );
        };
        world.revoke_member(&member);
        Json(json!({})).into_response()
    }
}

impl common::Identity for TikTok {
    fn refused(_: &World, _: Option<&str>) -> Response {
        let error = json!({
            "code": "access_token_invalid",
            "message": "The access token is invalid or not found in the request.",
            "log_id": log_id(),
        });
        let body = json!({"data": {}, "error": error});
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    }

    fn member(_: &World, member: &Member, q: &HashMap<String, String>) -> Response {
        let all = json!({
            "open_id": member.sub,
            "union_id": format!("u{}", member.sub),
            "avatar_url": "https://p16.tiktokcdn.com/fake.jpeg",
            "display_name": member.name,
        });
        // Only the fields asked for, as TikTok answers.
        let fields = q.get("fields").map(String::as_str).unwrap_or("open_id");
        let user: serde_json::Map<_, _> = fields
            .split(',')
            .filter_map(|f| Some((f.to_owned(), all.get(f)?.clone())))
            .collect();
        Json(json!({
            "data": {"user": user},
            "error": {"code": "ok", "message": "", "log_id": log_id()},
        }))
        .into_response()
    }
}
