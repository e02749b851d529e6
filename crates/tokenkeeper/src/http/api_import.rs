//! `POST /api/v1/accounts`: one account imported the way `tokenkeeper import` imports a row,
//! for host apps that prefer HTTP. 201 created (or replaced older tokens), 200 unchanged,
//! 409 when the stored tokens are newer, 422 for an invalid row.

use super::api::AccountView;
use super::error::ApiError;
use super::json_body::JsonBody;
use super::openapi::{ProviderNameSchema, UserIdSchema};
use super::AppState;
use crate::domain::{ImportDecision, ProviderName};
use crate::import::{row_of_json, Lookup, OneRowError, MAX_NAME_LEN, MAX_SCOPE_LEN, MAX_TOKEN_LEN};
use crate::provider::FailureClass;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;

/// The body: one row, the keys of a `tokenkeeper import` JSON line, each field's rule as
/// `RawRow::validate` checks it. An optional field may be null or empty: either is absent.
/// What only the request's moment can tell stays in the 422's description: whether the
/// provider describes the token, `linked_at` in the future, an expiry without its refresh
/// token. `provider` is the served document's `ProviderName`: this deployment's providers.
pub struct ImportRowSchema;

impl utoipa::PartialSchema for ImportRowSchema {
    fn schema() -> RefOr<Schema> {
        let optional = |rule: Value| json!({"anyOf": [rule, {"type": "string", "maxLength": 0}, {"type": "null"}]});
        let token = json!({"type": "string", "pattern": "^[!-~]+$", "maxLength": MAX_TOKEN_LEN});
        let instant = optional(json!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with its offset, between the years 2000 and 2100",
            "pattern": "^(?:20[0-9]{2}|2100)-",
        }));
        let printable = |max: usize| {
            optional(json!({
                "type": "string",
                "pattern": r"^[^\x00-\x1F\x7F-\x9F]*$",
                "maxLength": max,
            }))
        };
        let value = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["user_id", "email", "access_token"],
            "properties": {
                "user_id": UserIdSchema::schema(),
                "provider": optional(json!({"$ref": "#/components/schemas/ProviderName"})),
                "email": {"type": "string", "format": "email"},
                "access_token": token,
                "refresh_token": optional(token.clone()),
                "token_expires_at": instant,
                "refresh_token_expires_at": instant,
                "linked_at": instant,
                // Blank is refused (trimmed, nothing is left): at least one character that is neither a
                // control character nor whitespace (the classes of `UserId::PATTERN`).
                "member_id": optional(json!({
                    "type": "string",
                    "pattern": concat!(
                        r"^[^\x00-\x1F\x7F-\x9F]*",
                        r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
                        r"[^\x00-\x1F\x7F-\x9F]*$"
                    ),
                    "maxLength": 255,
                })),
                "name": printable(MAX_NAME_LEN),
                "scope": printable(MAX_SCOPE_LEN),
            },
        });
        serde_json::from_value(value).expect("a valid schema literal")
    }
}

impl utoipa::ToSchema for ImportRowSchema {
    fn name() -> Cow<'static, str> {
        "ImportRow".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            ProviderNameSchema::name().into(),
            <ProviderNameSchema as utoipa::PartialSchema>::schema(),
        ));
    }
}

/// Imports one account the way `tokenkeeper import` imports a row (docs/integrating.md, "Bringing in the
/// tokens you already hold").
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    request_body(content = ImportRowSchema, description = "One row: user_id, email, access_token required; provider (a configured one; linkedin when absent), member_id (else asked of the provider's userinfo with the access token), refresh_token, token_expires_at (else asked of the provider's introspection; where it has none, userinfo tells whether the token works now, and it is renewed at once with its refresh token), refresh_token_expires_at, linked_at, name, scope optional"),
    responses(
        (status = 201, description = "Imported", body = AccountView, links(
            ("read" = (operation_id = "account", parameters(("user_id" = "$response.body#/user_id")))),
            ("refresh" = (operation_id = "refresh_now", parameters(("user_id" = "$response.body#/user_id")))),
            ("report_invalid" = (operation_id = "report_invalid", parameters(("user_id" = "$response.body#/user_id")))),
            ("delete" = (operation_id = "delete_account", parameters(("user_id" = "$response.body#/user_id")))),
        )),
        (status = 200, description = "Already stored with these tokens: nothing changed", body = AccountView),
        (status = 409, description = "The stored tokens are newer and were kept", body = super::error::ErrorBody),
        (status = 422, description = "The row is not valid, names a provider that is not configured, or its provider refuses to describe its token (a token userinfo refuses, without member_id, is imported needing its member only with a live refresh token; without token_expires_at, a token whose provider cannot introspect is imported only with a live refresh token)", body = super::error::ErrorBody),
        (status = 502, description = "The row's provider could not be asked about the token (`linkedin_failed` for LinkedIn, `provider_failed` for the others)", body = super::error::ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn import_account(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let raw = row_of_json(body).map_err(|e| ApiError::Invalid(format!("the body {e}")))?;
    let (decision, account) = app.importer.import_one(raw).await.map_err(refusal)?;
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
        .accounts
        .account_by_user(&account.provider, &account.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((status, Json(stored.into())))
}

/// How a row that was not imported is answered.
fn refusal(error: OneRowError) -> ApiError {
    let (asked, provider, network, error) = match error {
        OneRowError::Invalid(message) => return ApiError::Invalid(message),
        OneRowError::Store(error) => return ApiError::Store(error),
        OneRowError::Lookup {
            asked,
            provider,
            network,
            error,
        } => (asked, provider, network, error),
    };
    match asked {
        // The provider refusing this one token is about the request, not about our service.
        Lookup::Introspection
            if matches!(
                error.class(),
                FailureClass::Rejected | FailureClass::Permanent
            ) =>
        {
            ApiError::Invalid(format!(
                "access_token: {network} refused to describe it: {error}"
            ))
        }
        // A 403 at userinfo is about this token's scopes; a 401 was planned as the row says.
        Lookup::Userinfo { member_unknown } if error.class() == FailureClass::Rejected => {
            ApiError::Invalid(match member_unknown {
                true => format!(
                    "member_id: not given, and {network} would not tell whose the access token is: {error}"
                ),
                false => format!(
                    "token_expires_at: not given, and {network} would not tell whether it still takes the access token: {error}"
                ),
            })
        }
        _ if provider == *ProviderName::linkedin_ref() => ApiError::LinkedIn(error),
        _ => {
            tracing::warn!(error = %crate::telemetry::error_chain(&error), "an import failed at its provider");
            ApiError::Refused {
                status: StatusCode::BAD_GATEWAY,
                code: "provider_failed",
                message: format!("{network} could not be asked about the token; try again later"),
            }
        }
    }
}
