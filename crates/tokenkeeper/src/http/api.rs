//! The host app's API: issue connect links, read an account's tokens. Every route sits behind
//! the Bearer key (`api_key.rs`), checked before the request is parsed.

use super::error::ApiError;
use super::json_body::JsonBody;
use super::AppState;
use crate::connect_link::LinkOptions;
use crate::domain::{Account, EmailAddress, UserId};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct ConnectLinkRequest {
    user_id: String,
    email: String,
    #[serde(default)]
    return_to: Option<String>,
    /// Whether the link may connect a different LinkedIn member than the one already linked
    /// to this user. Off unless the host app asks: an account keeps its member.
    #[serde(default)]
    allow_member_change: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ConnectLinkResponse {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/connect-links`
pub async fn create_connect_link(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<ConnectLinkRequest>,
) -> Result<Json<ConnectLinkResponse>, ApiError> {
    let user_id = UserId::parse(&body.user_id).map_err(|e| ApiError::Invalid(e.0))?;
    let email = EmailAddress::parse(&body.email).map_err(|e| ApiError::Invalid(e.0))?;
    let return_to = body
        .return_to
        .as_deref()
        .map(|r| {
            app.links.check_return_to(r).map_err(|_| {
                ApiError::Invalid(format!(
                    "return_to {r:?} is not on an allowed origin (connect.allowed_return_origins)"
                ))
            })
        })
        .transpose()?;
    let expires_at = app.clock.now() + app.config.connect.link_ttl;
    let options = LinkOptions {
        allow_member_change: body.allow_member_change,
    };
    let url = app
        .links
        .issue_with(&user_id, &email, return_to.as_ref(), expires_at, options);
    Ok(Json(ConnectLinkResponse {
        url: url.into(),
        expires_at,
    }))
}

/// An account as the host app sees it, tokens included: the API is the host app's way to
/// read them without touching our tables.
#[derive(Debug, Serialize)]
pub struct AccountView {
    user_id: String,
    member_id: String,
    email: String,
    status: &'static str,
    access_token: String,
    token_expires_at: DateTime<Utc>,
    has_refresh_token: bool,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    expiration: DateTime<Utc>,
    scope: String,
    linked_at: DateTime<Utc>,
    last_refreshed_at: Option<DateTime<Utc>>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            user_id: a.user_id.to_string(),
            member_id: a.member_id.to_string(),
            email: a.email.to_string(),
            status: a.status.as_str(),
            access_token: a.token.expose().to_owned(),
            token_expires_at: a.token_expires_at,
            has_refresh_token: a.refresh_token.is_some(),
            refresh_token_expires_at: a.refresh_token_expires_at,
            expiration: a.expiration,
            scope: a.scope,
            linked_at: a.linked_at,
            last_refreshed_at: a.last_refreshed_at,
        }
    }
}

/// `GET /api/v1/accounts/{user_id}`
pub async fn account(
    State(app): State<AppState>,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<AccountView>, ApiError> {
    let Path(user_id) =
        user_id.map_err(|_| ApiError::Invalid("user_id in the path is not valid UTF-8".into()))?;
    let user_id = UserId::parse(&user_id).map_err(|e| ApiError::Invalid(e.0))?;
    let account = app
        .store
        .account_by_user(&user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(account.into()))
}
