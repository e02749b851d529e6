//! LinkedIn's endpoints, as LinkedIn answers them.

use crate::control::Controls;
use crate::machinery::apply;
use crate::state::{
    random, redirect_allowed, AccessGrant, Code, Consent, Endpoint, InvalidRefreshStyle,
    RefreshGrant,
};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;

pub fn router(controls: Controls) -> Router {
    Router::new()
        .route("/oauth/v2/authorization", get(authorize))
        .route("/oauth/v2/accessToken", post(token))
        .route("/oauth/v2/introspectToken", post(introspect))
        .route("/v2/userinfo", get(userinfo))
        .merge(crate::machinery::control_routes())
        .with_state(controls)
}

/// Applies the next injected fault for `endpoint`, if any: `Some` is the response to send.
async fn fault(controls: &Controls, endpoint: Endpoint) -> Option<Response> {
    let (fault, latency) = {
        let mut state = controls.state();
        let latency = match endpoint {
            Endpoint::Token => state.config.token_latency,
            _ => std::time::Duration::ZERO,
        };
        (state.take_fault(endpoint), latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    apply(fault?).await
}

/// Applies the next fault injected for the member whose refresh token this request uses.
async fn member_fault(controls: &Controls, form: &HashMap<String, String>) -> Option<Response> {
    let fault = {
        let mut state = controls.state();
        let member = state
            .refresh
            .get(form.get("refresh_token")?)?
            .member
            .clone();
        state.take_member_fault(&member)?
    };
    apply(fault).await
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<html><body><h1>LinkedIn</h1><p>{message}</p></body></html>"
        )),
    )
        .into_response()
}

async fn authorize(
    State(controls): State<Controls>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&controls, Endpoint::Authorize).await {
        return r;
    }
    let mut state = controls.state();
    // LinkedIn shows these problems on its own page and never sends the browser back.
    if q.get("response_type").map(String::as_str) != Some("code") {
        return error_page("response_type must be code");
    }
    if q.get("client_id") != Some(&state.config.client_id) {
        return error_page("The application is not known (client_id).");
    }
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page("redirect_uri is missing");
    };
    if !redirect_allowed(&redirect_uri, &state.config.redirect_uris) {
        return error_page("The redirect_uri does not match the registered value");
    }
    let scope: Vec<String> = q
        .get("scope")
        .map(|s| {
            s.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if scope.is_empty() {
        return error_page("scope is missing");
    }
    let mut back = url::Url::parse(&redirect_uri).expect("checked above");
    {
        let mut pairs = back.query_pairs_mut();
        match state.consent {
            Consent::Approve => {
                let code = Code {
                    member: state.consenting_member(crate::machinery::browser_member(&headers)),
                    redirect_uri: redirect_uri.clone(),
                    scope,
                    params: HashMap::new(),
                    expires_at: state.now() + state.config.code_ttl,
                };
                pairs.append_pair("code", &code.file(&mut state.codes, 64));
            }
            Consent::CancelLogin => {
                pairs
                    .append_pair("error", "user_cancelled_login")
                    .append_pair("error_description", "The user cancelled LinkedIn login");
            }
            Consent::CancelAuthorize => {
                pairs
                    .append_pair("error", "user_cancelled_authorize")
                    .append_pair("error_description", "The user cancelled the authorization");
            }
        }
        if let Some(s) = q.get("state") {
            pairs.append_pair("state", s);
        }
    }
    Redirect::to(back.as_str()).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn missing(parameter: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("A required parameter \"{parameter}\" is missing"),
    )
}

const INVALID_GRANT_REQUEST: &str =
    "The provided authorization grant or refresh token is invalid, expired or revoked";

async fn token(
    State(controls): State<Controls>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&controls, Endpoint::Token).await {
        return r;
    }
    if let Some(r) = member_fault(&controls, &form).await {
        return r;
    }
    let mut state = controls.state();
    // HTTP Basic is ignored, as at LinkedIn: without client_id in the body, it is missing.
    let Some(client_id) = form.get("client_id") else {
        return missing("client_id");
    };
    let Some(secret) = form.get("client_secret") else {
        return missing("client_secret");
    };
    if *client_id != state.config.client_id || *secret != state.config.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let now = state.now();
    match form.get("grant_type").map(String::as_str) {
        None => missing("grant_type"),
        Some("authorization_code") => {
            let Some(code) = form.get("code") else {
                return missing("code");
            };
            let Some(redirect_uri) = form.get("redirect_uri") else {
                return missing("redirect_uri");
            };
            // A code is single use: it is gone whatever happens next.
            let grant = match state.codes.remove(code) {
                Some(c) if c.expires_at > now && c.redirect_uri == *redirect_uri => c,
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        INVALID_GRANT_REQUEST,
                    )
                }
            };
            let refresh = state.config.partner.then(|| {
                let token = random(300);
                let expires_at = now + state.config.refresh_token_ttl;
                state.refresh.insert(
                    token.clone(),
                    RefreshGrant {
                        member: grant.member.clone(),
                        scope: grant.scope.clone(),
                        expires_at,
                    },
                );
                (token, expires_at)
            });
            let ttl = state.config.access_token_ttl;
            issue(
                &mut state,
                &grant.member,
                &grant.scope,
                now,
                now + ttl,
                refresh,
            )
        }
        Some("refresh_token") => {
            let Some(refresh_token) = form.get("refresh_token") else {
                return missing("refresh_token");
            };
            if !state.config.partner {
                // Apps without programmatic refresh are refused the grant.
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "The client is not authorized to use the refresh_token grant type",
                );
            }
            if !state.refresh.contains_key(refresh_token)
                && state.config.accept_unknown_refresh_tokens
            {
                let member = format!("bench-{}", random(8));
                let expires_at = now + state.config.refresh_token_ttl;
                state.refresh.insert(
                    refresh_token.clone(),
                    RefreshGrant {
                        member,
                        scope: vec!["openid".into(), "profile".into(), "w_member_social".into()],
                        expires_at,
                    },
                );
            }
            let valid = state
                .refresh
                .get(refresh_token)
                .filter(|g| g.expires_at > now && !state.revoked.contains(&g.member))
                .map(|g| (g.member.clone(), g.scope.clone(), g.expires_at));
            let Some((member, scope, horizon)) = valid else {
                return match state.config.invalid_refresh_style {
                    InvalidRefreshStyle::InvalidGrant => oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Token has been expired or revoked.",
                    ),
                    InvalidRefreshStyle::InvalidRequest => oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        INVALID_GRANT_REQUEST,
                    ),
                };
            };
            state.refresh_grants += 1;
            *state.refresh_by_member.entry(member.clone()).or_default() += 1;
            *state
                .refresh_by_token
                .entry(refresh_token.clone())
                .or_default() += 1;
            // A refresh never extends the refresh token: the new access token ends no later.
            let expires_at = (now + state.config.access_token_ttl).min(horizon);
            issue(
                &mut state,
                &member,
                &scope,
                now,
                expires_at,
                Some((refresh_token.clone(), horizon)),
            )
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is not supported",
        ),
    }
}

fn issue(
    state: &mut crate::state::State,
    member: &str,
    scope: &[String],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    refresh: Option<(String, DateTime<Utc>)>,
) -> Response {
    let access_token = format!("AQ{}", random(498));
    state.access.insert(
        access_token.clone(),
        AccessGrant {
            member: member.to_owned(),
            scope: scope.to_vec(),
            created_at: now,
            expires_at,
        },
    );
    // No token_type: LinkedIn does not send one.
    let mut body = json!({
        "access_token": access_token,
        "expires_in": (expires_at - now).num_seconds(),
        "scope": state.join_scope(scope),
    });
    if let Some((token, horizon)) = refresh {
        body["refresh_token"] = token.into();
        body["refresh_token_expires_in"] = (horizon - now).num_seconds().into();
    }
    if scope.iter().any(|s| s == "openid") {
        body["id_token"] = format!("fake.{}.id", random(40)).into();
    }
    Json(body).into_response()
}

async fn introspect(
    State(controls): State<Controls>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&controls, Endpoint::Introspect).await {
        return r;
    }
    let state = controls.state();
    let (Some(client_id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) else {
        return missing("client_id");
    };
    if *client_id != state.config.client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid client id",
        );
    }
    if *secret != state.config.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let Some(token) = form.get("token") else {
        return missing("token");
    };
    let Some(grant) = state.access.get(token) else {
        return Json(json!({"active": false})).into_response();
    };
    let now = state.now();
    let status = if state.revoked.contains(&grant.member) {
        "revoked"
    } else if grant.expires_at <= now {
        "expired"
    } else {
        "active"
    };
    Json(json!({
        "active": status == "active",
        "status": status,
        "scope": grant.scope.join(","),
        "client_id": state.config.client_id,
        "created_at": grant.created_at.timestamp(),
        "authorized_at": grant.created_at.timestamp(),
        "expires_at": grant.expires_at.timestamp(),
        "auth_type": "3L",
    }))
    .into_response()
}

fn unauthorized(code: i64, message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"serviceErrorCode": code, "message": message, "status": 401})),
    )
        .into_response()
}

async fn userinfo(State(controls): State<Controls>, headers: HeaderMap) -> Response {
    if let Some(r) = fault(&controls, Endpoint::Userinfo).await {
        return r;
    }
    let state = controls.state();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(grant) = token.and_then(|t| state.access.get(t)) else {
        return unauthorized(65600, "Invalid access token");
    };
    if state.revoked.contains(&grant.member) {
        return unauthorized(
            65601,
            "The token used in the request has been revoked by the user",
        );
    }
    if grant.expires_at <= state.now() {
        return unauthorized(65602, "The token used in the request has expired");
    }
    let member = state
        .members
        .iter()
        .find(|m| m.sub == grant.member)
        .cloned()
        .unwrap_or_else(|| crate::Member {
            sub: grant.member.clone(),
            name: "Bench Member".into(),
            given_name: "Bench".into(),
            family_name: "Member".into(),
            email: None,
        });
    let mut body = json!({
        "sub": member.sub,
        "name": member.name,
        "given_name": member.given_name,
        "family_name": member.family_name,
        "picture": "https://media.example.com/p.jpg",
        "locale": {"country": "US", "language": "en"},
    });
    if let Some(email) = member.email {
        body["email"] = email.into();
        body["email_verified"] = true.into();
    }
    Json(body).into_response()
}
