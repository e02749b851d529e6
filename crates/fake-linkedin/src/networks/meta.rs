//! Meta's networks: Instagram (API with Instagram Login), Threads and Facebook Login. No
//! refresh tokens: a one-hour token from the code exchange becomes a 60-day one by a GET
//! exchange, and that one is renewed by another GET (`ig_refresh_token`, `th_refresh_token`)
//! only inside [issued + 24 h, expiry), or at Facebook by `fb_exchange_token` while it
//! lives. Failures are Graph `OAuthException` bodies, 190 for a token that is dead.

use super::common::{self, ClientAuth};
use super::world::{AccessKind, World};
use super::{NetworkControls, NetworkEndpoint, NetworkKind};
use crate::state::{random, Member};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;

/// Instagram (`graph.instagram.com`, `api.instagram.com`) or Threads (`graph.threads.net`):
/// the same paths, with their own grant names and required permission.
pub(crate) fn routes(kind: NetworkKind) -> Router<NetworkControls> {
    debug_assert!(matches!(
        kind,
        NetworkKind::Instagram | NetworkKind::Threads
    ));
    Router::new()
        .route("/oauth/authorize", get(common::authorize))
        .route("/oauth/access_token", post(code_exchange))
        .route("/access_token", get(exchange))
        .route("/refresh_access_token", get(refresh))
        .route("/me", get(common::me::<Meta>))
        .route("/{version}/me", get(common::me::<Meta>))
}

/// Facebook Login on `graph.facebook.com/{version}` and `www.facebook.com/{version}`.
pub(crate) fn facebook_routes() -> Router<NetworkControls> {
    Router::new()
        .route("/{version}/dialog/oauth", get(common::authorize))
        .route(
            "/{version}/oauth/access_token",
            get(facebook_token).post(facebook_token),
        )
        .route("/{version}/me", get(common::me::<Meta>))
        .route("/{version}/debug_token", get(facebook_debug_token))
        .route("/{version}/{user}/permissions", delete(facebook_revoke))
}

/// `{"error": {"message", "type": "OAuthException", "code", "error_subcode", "fbtrace_id"}}`.
fn graph_error(code: u32, subcode: Option<u32>, message: &str) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": random(11),
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = subcode.into();
    }
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

/// Why a token is not taken, as Graph says it: code 190 with 463 (expired) or 458 (the
/// member removed the app).
fn dead_token(world: &World, token: &str) -> Response {
    let Some(access) = world.access.get(token) else {
        return graph_error(
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    };
    if !world.grant_alive(access.grant) {
        return graph_error(
            190,
            Some(458),
            "Error validating access token: The user has not authorized application.",
        );
    }
    let message = format!(
        "Error validating access token: Session has expired on {}. The current time is {}.",
        access.expires_at.to_rfc2822(),
        world.now().to_rfc2822(),
    );
    graph_error(190, Some(463), &message)
}

/// Short-lived from the code exchange, long-lived from an exchange or a renewal.
fn issue_long_lived(world: &mut World, grant: u64, scope: &[String]) -> Response {
    let ttl = world.config.long_lived_ttl;
    let access_token = world.issue_access(grant, scope, AccessKind::LongLived, ttl);
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl.num_seconds(),
    }))
    .into_response()
}

fn grant_name(kind: NetworkKind, what: &str) -> String {
    let prefix = match kind {
        NetworkKind::Threads => "th",
        NetworkKind::Facebook => "fb",
        _ => "ig",
    };
    format!("{prefix}_{what}_token")
}

/// `POST /oauth/access_token`: the code for a short-lived token and the member's id.
async fn code_exchange(
    State(controls): State<NetworkControls>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = common::fault(&controls, NetworkEndpoint::Token).await {
        return r;
    }
    let mut world = controls.world();
    let ways = [ClientAuth::Body("client_id")];
    if !common::client_authenticated(&world, &headers, &form, &ways) {
        return graph_error(
            101,
            None,
            "Error validating application. Invalid application ID.",
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return graph_error(100, None, "Unsupported grant_type");
    }
    let field = |name: &str| form.get(name).map(String::as_str);
    let redeemed =
        field("code").and_then(|code| world.redeem_code(code, field("redirect_uri"), None));
    let Some(code) = redeemed else {
        return graph_error(100, None, "Invalid authorization code");
    };
    let grant = world.new_grant(&code.member);
    let ttl = common::access_ttl(&world);
    let access_token = world.issue_access(grant, &code.scope, AccessKind::ShortLived, ttl);
    // Meta's user ids are numbers; a member a test named otherwise keeps its name.
    let user_id =
        (code.member.parse::<u64>().map(Into::into)).unwrap_or_else(|_| json!(code.member));
    let mut body = json!({"access_token": access_token, "user_id": user_id});
    if world.kind == NetworkKind::Instagram {
        body["permissions"] = code.scope.into();
    }
    Json(body).into_response()
}

/// `GET /access_token?grant_type=ig_exchange_token&client_secret&access_token`: a live
/// token for a 60-day one.
async fn exchange(
    State(controls): State<NetworkControls>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = common::fault(&controls, NetworkEndpoint::Exchange).await {
        return r;
    }
    let mut world = controls.world();
    if q.get("grant_type") != Some(&grant_name(world.kind, "exchange")) {
        return graph_error(100, None, "Unsupported grant_type");
    }
    if q.get("client_secret") != Some(&world.config.client_secret) {
        return graph_error(101, None, "Error validating client secret.");
    }
    let token = q.get("access_token").cloned().unwrap_or_default();
    let Some((access, _)) = world.accepted(&token) else {
        return dead_token(&world, &token);
    };
    let (grant, scope) = (access.grant, access.scope.clone());
    issue_long_lived(&mut world, grant, &scope)
}

/// `GET /refresh_access_token?grant_type=ig_refresh_token&access_token`: a long-lived token
/// at least 24 hours old and not expired, with the network's basic permission, for a new one
/// valid 60 days from now.
async fn refresh(
    State(controls): State<NetworkControls>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = common::fault(&controls, NetworkEndpoint::Refresh).await {
        return r;
    }
    let mut world = controls.world();
    let kind = world.kind;
    if q.get("grant_type") != Some(&grant_name(kind, "refresh")) {
        return graph_error(100, None, "Unsupported grant_type");
    }
    let token = q.get("access_token").cloned().unwrap_or_default();
    world.adopt_unknown_access_token(&token);
    let Some((access, _)) = world.accepted(&token) else {
        return dead_token(&world, &token);
    };
    if access.kind != AccessKind::LongLived {
        return graph_error(100, None, "Only long-lived access tokens can be refreshed.");
    }
    let basic = match kind {
        NetworkKind::Threads => "threads_basic",
        _ => "instagram_business_basic",
    };
    if !access.scope.iter().any(|s| s == basic) {
        return graph_error(
            10,
            None,
            &format!("Permission denied: {basic} is required."),
        );
    }
    // The exact body for a token under 24 hours old is not documented; it is not a 190,
    // since the token is alive and can be refreshed later.
    if access.issued_at + world.config.refresh_min_age > world.now() {
        return graph_error(
            100,
            None,
            "The access token must be at least 24 hours old to be refreshed.",
        );
    }
    let (grant, scope) = (access.grant, access.scope.clone());
    world.count_renewal(&token);
    // Meta does not say the renewed token dies: it lives on to its own end.
    issue_long_lived(&mut world, grant, &scope)
}

/// Facebook's token URL: the code exchange, or with `grant_type=fb_exchange_token` the
/// exchange of a live token (short- or long-lived) for a 60-day one, which is how a
/// Facebook token is kept alive. The client's credentials are query parameters.
async fn facebook_token(
    State(controls): State<NetworkControls>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let exchanging = q.get("grant_type").map(String::as_str) == Some("fb_exchange_token");
    let endpoint = if exchanging {
        NetworkEndpoint::Refresh
    } else {
        NetworkEndpoint::Token
    };
    if let Some(r) = common::fault(&controls, endpoint).await {
        return r;
    }
    let mut world = controls.world();
    if !common::client_authenticated(&world, &headers, &q, &[ClientAuth::Body("client_id")]) {
        return graph_error(
            101,
            None,
            "Error validating application. Invalid application ID.",
        );
    }
    let field = |name: &str| q.get(name).map(String::as_str);
    if exchanging {
        // "You can not use an expired token to request a long-lived token."
        let token = field("fb_exchange_token").unwrap_or_default().to_owned();
        world.adopt_unknown_access_token(&token);
        let Some((access, _)) = world.accepted(&token) else {
            return dead_token(&world, &token);
        };
        let (grant, scope) = (access.grant, access.scope.clone());
        world.count_renewal(&token);
        return issue_long_lived(&mut world, grant, &scope);
    }
    let redeemed =
        field("code").and_then(|code| world.redeem_code(code, field("redirect_uri"), None));
    let Some(code) = redeemed else {
        return graph_error(100, None, "Invalid verification code format.");
    };
    let grant = world.new_grant(&code.member);
    let ttl = common::access_ttl(&world);
    let access_token = world.issue_access(grant, &code.scope, AccessKind::ShortLived, ttl);
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl.num_seconds(),
    }))
    .into_response()
}

/// `DELETE /{user-id}/permissions`: the member removes the app.
async fn facebook_revoke(
    State(controls): State<NetworkControls>,
    Path((_version, user)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = common::fault(&controls, NetworkEndpoint::Revoke).await {
        return r;
    }
    let mut world = controls.world();
    let token = common::bearer(&headers, &q).unwrap_or_default();
    let Some((_, member)) = world.accepted(&token) else {
        return dead_token(&world, &token);
    };
    if user != "me" && user != member {
        return graph_error(200, None, "Permissions error");
    }
    world.revoke_member(&member);
    Json(json!({"success": true})).into_response()
}

/// `GET /debug_token?input_token&access_token={app-id}|{app-secret}`: what Facebook knows
/// about a user token, asked with the app's own token. Counted as a call to `/me` (who holds
/// it). A dead token is `is_valid: false` with the 190 error `/me` would have answered.
async fn facebook_debug_token(
    State(controls): State<NetworkControls>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = common::fault(&controls, NetworkEndpoint::Me).await {
        return r;
    }
    let world = controls.world();
    let app_token = format!("{}|{}", world.config.client_id, world.config.client_secret);
    if q.get("access_token") != Some(&app_token) {
        return graph_error(190, None, "Invalid OAuth access token signature.");
    }
    let token = q.get("input_token").cloned().unwrap_or_default();
    let Some(access) = world.access.get(&token) else {
        return graph_error(100, None, "Invalid input_token");
    };
    let mut data = json!({
        "app_id": world.config.client_id,
        "type": "USER",
        "application": "tokenkeeper",
        "expires_at": access.expires_at.timestamp(),
        "issued_at": access.issued_at.timestamp(),
        "scopes": access.scope,
        "user_id": world.grants[&access.grant].member,
    });
    if world.accepted(&token).is_some() {
        data["is_valid"] = true.into();
    } else {
        let (subcode, message) = if world.grant_alive(access.grant) {
            (463, "Session has expired.")
        } else {
            (458, "The user has not authorized application.")
        };
        data["is_valid"] = false.into();
        data["error"] = json!({"code": 190, "subcode": subcode, "message": message});
    }
    Json(json!({"data": data})).into_response()
}

pub(crate) struct Meta;

/// `/me`: `id` and the network's own fields (Instagram `user_id` and `username`, Threads
/// `username`, Facebook `name`).
impl common::Identity for Meta {
    fn member(world: &World, member: &Member, _: &HashMap<String, String>) -> Response {
        let username = member.name.to_lowercase().replace(' ', ".");
        let body = match world.kind {
            NetworkKind::Instagram => {
                json!({"id": member.sub, "user_id": member.sub, "username": username})
            }
            NetworkKind::Threads => json!({"id": member.sub, "username": username}),
            _ => json!({"id": member.sub, "name": member.name}),
        };
        Json(body).into_response()
    }

    fn refused(world: &World, token: Option<&str>) -> Response {
        dead_token(world, token.unwrap_or_default())
    }
}
