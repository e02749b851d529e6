//! `POST /api/v1/accounts`: one account imported the way `tokenkeeper import` imports a row,
//! for host apps that prefer HTTP. 201 created (or replaced older tokens), 200 unchanged,
//! 409 when the stored tokens are newer, 422 for an invalid row.

use super::api::AccountView;
use super::error::ApiError;
use super::json_body::JsonBody;
use super::AppState;
use crate::domain::ImportDecision;
use crate::import::{row_of_json, OneRowError};
use crate::provider::FailureClass;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// Imports one account the way `tokenkeeper import` imports a row (docs/integrating.md, "Bringing in the
/// tokens you already hold").
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    request_body(content = serde_json::Value, description = "One row: user_id, email, access_token required; member_id (else asked of LinkedIn's userinfo with the access token), refresh_token, token_expires_at (else asked of LinkedIn's introspection), refresh_token_expires_at, linked_at, name, scope optional"),
    responses(
        (status = 201, description = "Imported", body = AccountView),
        (status = 200, description = "Already stored with these tokens: nothing changed", body = AccountView),
        (status = 409, description = "The stored tokens are newer and were kept", body = super::error::ErrorBody),
        (status = 422, description = "The row is not valid, or LinkedIn refuses to describe its token (a token userinfo refuses, without member_id, is imported needing its member only with a live refresh token)", body = super::error::ErrorBody),
        (status = 502, description = "LinkedIn could not be asked about the token", body = super::error::ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn import_account(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let raw = row_of_json(body).map_err(|e| ApiError::Invalid(format!("the body {e}")))?;
    let (decision, account) = app.importer.import_one(raw).await.map_err(|e| match e {
        OneRowError::Invalid(message) => ApiError::Invalid(message),
        // LinkedIn refusing this one token is about the request, not about our service.
        OneRowError::LinkedIn(error)
            if matches!(
                error.class(),
                FailureClass::Rejected | FailureClass::Permanent
            ) =>
        {
            ApiError::Invalid(format!(
                "access_token: LinkedIn refused to describe it: {error}"
            ))
        }
        OneRowError::LinkedIn(error) => ApiError::LinkedIn(error),
        // A 403 at userinfo is about this token's scopes; a 401 was planned as the row says.
        OneRowError::Userinfo(error) if error.class() == FailureClass::Rejected => {
            ApiError::Invalid(format!(
                "member_id: not given, and LinkedIn would not tell whose the access token is: {error}"
            ))
        }
        OneRowError::Userinfo(error) => ApiError::LinkedIn(error),
        OneRowError::Store(error) => ApiError::Store(error),
    })?;
    let status = match decision {
        ImportDecision::Create | ImportDecision::Replace { .. } => StatusCode::CREATED,
        ImportDecision::Unchanged => StatusCode::OK,
        ImportDecision::NewerKept => {
            return Err(ApiError::Conflict {
                code: "newer_tokens_kept",
                message: "the stored account's tokens are newer than these (refreshed or linked after linked_at); they were kept".into(),
            })
        }
    };
    let stored = app
        .store
        .account_by_user(&account.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((status, Json(stored.into())))
}
