//! The host app's API: issue connect links, read an account's tokens. Every route sits behind
//! the Bearer key (`api_key.rs`), checked before the request is parsed.

use super::error::ApiError;
use super::json_body::JsonBody;
use super::openapi::{AccountStatusSchema, ProviderNameSchema, UserIdSchema};
use super::provider_param::named_provider;
use super::AppState;
use crate::connect_link::LinkOptions;
use crate::domain::EnumText;
use crate::domain::{Account, EmailAddress, UserId};
use crate::refresh::OnRead;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConnectLinkRequest {
    #[schema(value_type = UserIdSchema)]
    user_id: String,
    /// The provider to connect (`[providers.NAME]`); `linkedin` when absent.
    #[serde(default)]
    #[schema(value_type = Option<ProviderNameSchema>)]
    provider: Option<String>,
    /// Where reconnect reminders go.
    #[schema(format = Email)]
    email: String,
    /// Where the browser goes once connected: a URL on one of
    /// `connect.allowed_return_origins` (the served document names them).
    #[serde(default)]
    return_to: Option<String>,
    /// Whether the link may connect a different LinkedIn member than the one already linked
    /// to this user. Off unless the host app asks: an account keeps its member.
    #[serde(default)]
    allow_member_change: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectLinkResponse {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues a signed connect link to send the user's browser to.
#[utoipa::path(
    post,
    path = "/api/v1/connect-links",
    request_body = ConnectLinkRequest,
    responses(
        (status = 200, description = "The link and when it expires", body = ConnectLinkResponse),
        (status = 422, description = "A field is not valid", body = super::error::ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn create_connect_link(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<ConnectLinkRequest>,
) -> Result<Json<ConnectLinkResponse>, ApiError> {
    let user_id = UserId::parse(&body.user_id).map_err(|e| ApiError::Invalid(e.0))?;
    let provider = named_provider(&app, body.provider.as_deref())?;
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
    let url = app.links.issue_for(
        &provider,
        &user_id,
        &email,
        return_to.as_ref(),
        expires_at,
        options,
    );
    Ok(Json(ConnectLinkResponse {
        url: url.into(),
        expires_at,
    }))
}

/// An account as the host app sees it, tokens included: the API is the host app's way to
/// read them without touching our tables.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    user_id: String,
    /// The account's provider (`linkedin`, or a name from `[providers.NAME]`).
    #[schema(value_type = ProviderNameSchema)]
    provider: String,
    /// LinkedIn's `sub` for the member; null while not known (an import whose access token
    /// LinkedIn refused to describe: the member's next connection tells).
    member_id: Option<String>,
    email: String,
    /// `active`, `refresh_failing`, `needs_reconnect` or `expired`.
    #[schema(value_type = AccountStatusSchema)]
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
            provider: a.provider.to_string(),
            member_id: a.member_id.known().map(ToString::to_string),
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

/// How a read names its account and how much life its token must have left.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// The account's provider, as configured (`[providers.NAME]`); `linkedin` when absent.
    #[param(value_type = Option<ProviderNameSchema>)]
    provider: Option<String>,
    /// The least life, in seconds, the access token must have left: a token closer to its
    /// end is renewed first (once, however many readers ask). 0 to 3600; the provider's
    /// `min_validity_seconds` (60 by default) when absent.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 3600)]
    min_validity: Option<String>,
}

/// The most a read may ask for: beyond it, a careless caller would renew an hour-long token
/// on every read.
const MAX_MIN_VALIDITY_SECONDS: i64 = 3600;

/// Reads one account, its access token included: what the host app calls before each call
/// to the network. A token with less than `min_validity` left is renewed first, when it can
/// be; one that cannot (no refresh token, the member must reconnect) is answered as stored,
/// and its status says why.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{user_id}",
    params(("user_id" = UserIdSchema, Path, description = "The host app's id for the user"), ReadParams),
    responses(
        (status = 200, description = "The account and its access token", body = AccountView),
        (status = 404, description = "No such account", body = super::error::ErrorBody),
        (status = 422, description = "`invalid_request`: `user_id` is not one (see its pattern)", body = super::error::ErrorBody),
        (status = 500, description = "`token_unreadable`: the stored tokens do not open (sealed for another account or under a key no longer configured, plaintext while `encryption.allow_plaintext` is false, or empty); no token is served, and the message names the account and the column", body = super::error::ErrorBody),
        (status = 502, description = "The token was due for renewal and the network refused the request (`linkedin_rejected`, `linkedin_misconfigured`); no token is served", body = super::error::ErrorBody),
        (status = 503, description = "The token was due for renewal and the network did not answer usefully (`linkedin_unavailable`), or another process renewing it did not finish in time (`refreshing`); no token is served", body = super::error::ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn account(
    State(app): State<AppState>,
    user_id: Result<Path<String>, PathRejection>,
    params: Result<Query<ReadParams>, QueryRejection>,
) -> Result<Json<AccountView>, ApiError> {
    let user_id = user_id_from_path(user_id)?;
    let Query(params) =
        params.map_err(|_| ApiError::Invalid("the query string cannot be read".into()))?;
    let provider = named_provider(&app, params.provider.as_deref())?;
    let min_validity = match params.min_validity.as_deref() {
        None => app.providers.min_validity(&provider),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=MAX_MIN_VALIDITY_SECONDS).contains(s))
            .map(chrono::Duration::seconds)
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "min_validity must be 0 to {MAX_MIN_VALIDITY_SECONDS} seconds"
                ))
            })?,
    };
    let stored = app
        .token_reads
        .account(&provider, &user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let account = match app.engine.fresh_for_read(stored, min_validity).await? {
        OnRead::Stored(account) | OnRead::Refreshed(account) => account,
        OnRead::Gone => return Err(ApiError::NotFound),
        OnRead::Failed(outcome) => {
            let network = super::provider_param::network_of(&app, &provider);
            super::demand_outcome::settled(outcome, &provider, &network)?.1
        }
        OnRead::StillRefreshing => return Err(ApiError::Refused {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "refreshing",
            message:
                "another process is renewing this token and has not finished; try again in a moment"
                    .into(),
        }),
    };
    Ok(Json(account.into()))
}

/// The user id in a route's path, taken exactly as sent.
pub(super) fn user_id_from_path(
    path: Result<Path<String>, PathRejection>,
) -> Result<UserId, ApiError> {
    let Path(user_id) =
        path.map_err(|_| ApiError::Invalid("user_id in the path is not valid UTF-8".into()))?;
    UserId::parse(&user_id).map_err(|e| ApiError::Invalid(e.0))
}
