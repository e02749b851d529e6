//! What the host app does to one account: forget it, refresh it now, or report that LinkedIn
//! rejected its token. Answers carry the account's state, never a token: the host app reads
//! the new token with `GET /api/v1/accounts/{user_id}` when it needs it.

use super::account_list::AccountState;
use super::api::user_id_from_path;
use super::error::ApiError;
use super::error::ErrorBody;
use super::openapi::UserIdSchema;
use super::provider_param::network_of;
use super::provider_param::{provider_of, ProviderParam};
use super::AppState;
use crate::domain::ProviderName;
use crate::refresh::{Demand, OnDemand};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    pub user_id: String,
    /// Emails that were waiting to be sent and never will be.
    pub cancelled_emails: u64,
}

/// Forgets an account: its tokens, and its emails not yet sent; sends `account.deleted`.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{user_id}",
    params(("user_id" = UserIdSchema, Path, description = "The host app's id for the user"), ProviderParam),
    responses(
        (status = 200, description = "Forgotten", body = Deleted),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 422, description = "`invalid_request`: `user_id` is not one (see its pattern)", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn delete_account(
    State(app): State<AppState>,
    user_id: Result<Path<String>, PathRejection>,
    provider: Result<Query<ProviderParam>, QueryRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let user_id = user_id_from_path(user_id)?;
    let provider = provider_of(&app, provider)?;
    let deleted = app
        .host_api
        .delete_account(&provider, &user_id, app.clock.now())
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!(
        account_id = deleted.account_id,
        user_id = %deleted.user_id,
        cancelled_emails = deleted.cancelled_emails,
        "account deleted at the host app's request"
    );
    Ok(Json(Deleted {
        user_id: deleted.user_id.to_string(),
        cancelled_emails: deleted.cancelled_emails,
    }))
}

/// What a refresh on demand, or a reported rejection, came to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    /// `refreshed` (new tokens stored), `needs_reconnect` (the member is asked to reconnect)
    /// or `token_works` (LinkedIn accepts the access token; nothing changed).
    pub result: String,
    pub account: AccountState,
}

/// Refreshes the account's token now, as a sweep would.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{user_id}/refresh",
    params(("user_id" = UserIdSchema, Path, description = "The host app's id for the user"), ProviderParam),
    responses(
        (status = 200, description = "Refreshed, or LinkedIn refused the refresh token for good and the member is asked to reconnect", body = Outcome),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 422, description = "`invalid_request`: `user_id` is not one (see its pattern)", body = ErrorBody),
        (status = 409, description = "Another process is refreshing the account (`claimed`), it has no refresh token to use (`no_refresh_token`), it changed meanwhile (`changed`), or the network renews the token only later (`too_early`); nothing was changed", body = ErrorBody),
        (status = 502, description = "LinkedIn refused the request (`linkedin_rejected`, `linkedin_misconfigured`); nothing was changed", body = ErrorBody),
        (status = 500, description = "`token_unreadable`: the stored tokens do not open; nothing was sent to LinkedIn", body = ErrorBody),
        (status = 503, description = "LinkedIn did not answer usefully; nothing was changed, the sweep retries", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn refresh_now(
    State(app): State<AppState>,
    user_id: Result<Path<String>, PathRejection>,
    provider: Result<Query<ProviderParam>, QueryRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let user_id = user_id_from_path(user_id)?;
    let provider = provider_of(&app, provider)?;
    let outcome = app
        .engine
        .on_demand(&provider, &user_id, Demand::Refresh)
        .await?;
    answer(&app, &provider, outcome)
}

/// Reports that LinkedIn rejected the account's access token; tokenkeeper confirms with
/// LinkedIn and, if the token is dead and cannot be refreshed, asks the member to reconnect at
/// once.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{user_id}/invalid",
    params(("user_id" = UserIdSchema, Path, description = "The host app's id for the user"), ProviderParam),
    responses(
        (status = 200, description = "`token_works`: LinkedIn accepts the token, nothing changed; `refreshed`: the token was dead and a refresh replaced it; `needs_reconnect`: confirmed dead, the member is asked to reconnect", body = Outcome),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 422, description = "`invalid_request`: `user_id` is not one (see its pattern)", body = ErrorBody),
        (status = 409, description = "Another process is refreshing the account (`claimed`) or it changed meanwhile (`changed`); nothing was changed", body = ErrorBody),
        (status = 502, description = "LinkedIn refused the request (`linkedin_rejected`, `linkedin_misconfigured`); nothing was changed", body = ErrorBody),
        (status = 500, description = "`token_unreadable`: the stored tokens do not open; nothing was sent to LinkedIn", body = ErrorBody),
        (status = 503, description = "LinkedIn did not answer usefully; nothing was changed", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn report_invalid(
    State(app): State<AppState>,
    user_id: Result<Path<String>, PathRejection>,
    provider: Result<Query<ProviderParam>, QueryRejection>,
) -> Result<Json<Outcome>, ApiError> {
    let user_id = user_id_from_path(user_id)?;
    let provider = provider_of(&app, provider)?;
    let outcome = app
        .engine
        .on_demand(&provider, &user_id, Demand::ConfirmInvalid)
        .await?;
    answer(&app, &provider, outcome)
}

fn answer(
    app: &AppState,
    provider: &ProviderName,
    outcome: OnDemand,
) -> Result<Json<Outcome>, ApiError> {
    let (result, account) =
        super::demand_outcome::settled(outcome, provider, &network_of(app, provider))?;
    Ok(Json(Outcome {
        result: result.to_owned(),
        account: AccountState::from(&account),
    }))
}
