//! `GET /api/v1/accounts`: accounts page by page, filtered, in id order (stable however the
//! table changes between pages), and never with a token: a list is for dashboards and
//! reconciliation, and reading a token is one account at a time.

use super::cursor::Cursor;
use super::error::ApiError;
use super::openapi::{AccountStatusSchema, ProviderNameSchema};
use super::provider_param::named_provider;
use super::AppState;
use crate::domain::EnumText;
use crate::domain::{Account, AccountStatus};
use crate::store::{AccountFilter, AccountSummary};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only accounts with this provider (`[providers.NAME]`); every provider when absent.
    #[param(value_type = Option<ProviderNameSchema>)]
    provider: Option<String>,
    /// Only accounts in this status: `active`, `refresh_failing`, `needs_reconnect`, `expired`.
    #[param(value_type = Option<AccountStatusSchema>)]
    status: Option<String>,
    /// Only accounts whose next refresh (`expiration`) is before this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    due_before: Option<String>,
    /// Accounts per page, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `next_cursor` of the previous page, as it came: opaque, and refused (400) unless
    /// this service issued it.
    #[param(min_length = 1)]
    cursor: Option<String>,
}

/// An account's state, without any token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountState {
    pub user_id: String,
    /// The account's provider (`linkedin`, or a name from `[providers.NAME]`).
    #[schema(value_type = ProviderNameSchema)]
    pub provider: String,
    /// LinkedIn's `sub` for the member; null while not known (an import whose access token
    /// LinkedIn refused to describe: the member's next connection tells).
    pub member_id: Option<String>,
    pub email: String,
    /// `active`, `refresh_failing`, `needs_reconnect` or `expired`.
    #[schema(value_type = AccountStatusSchema)]
    pub status: String,
    pub token_expires_at: DateTime<Utc>,
    pub has_refresh_token: bool,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// When the next refresh is due.
    pub expiration: DateTime<Utc>,
    pub linked_at: DateTime<Utc>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
}

impl From<AccountSummary> for AccountState {
    fn from(a: AccountSummary) -> Self {
        Self {
            user_id: a.user_id.to_string(),
            provider: a.provider.to_string(),
            member_id: a.member_id.known().map(ToString::to_string),
            email: a.email,
            status: a.status.as_str().to_owned(),
            token_expires_at: a.token_expires_at,
            has_refresh_token: a.has_refresh_token,
            refresh_token_expires_at: a.refresh_token_expires_at,
            expiration: a.expiration,
            linked_at: a.linked_at,
            last_refreshed_at: a.last_refreshed_at,
        }
    }
}

impl From<&Account> for AccountState {
    fn from(a: &Account) -> Self {
        Self {
            user_id: a.user_id.to_string(),
            provider: a.provider.to_string(),
            member_id: a.member_id.known().map(ToString::to_string),
            email: a.email.to_string(),
            status: a.status.as_str().to_owned(),
            token_expires_at: a.token_expires_at,
            has_refresh_token: a.has_refresh_token(),
            refresh_token_expires_at: a.refresh_token_expires_at,
            expiration: a.expiration,
            linked_at: a.linked_at,
            last_refreshed_at: a.last_refreshed_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountPage {
    pub accounts: Vec<AccountState>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists accounts, without tokens.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    params(ListParams),
    responses(
        (status = 200, description = "One page of accounts", body = AccountPage, links(
            ("read_first" = (operation_id = "account", parameters(("user_id" = "$response.body#/accounts/0/user_id")))),
            ("refresh_first" = (operation_id = "refresh_now", parameters(("user_id" = "$response.body#/accounts/0/user_id")))),
            ("report_invalid_first" = (operation_id = "report_invalid", parameters(("user_id" = "$response.body#/accounts/0/user_id")))),
            ("delete_first" = (operation_id = "delete_account", parameters(("user_id" = "$response.body#/accounts/0/user_id")))),
        )),
        (status = 400, description = "The cursor is not one this service issued", body = super::error::ErrorBody),
        (status = 422, description = "A filter or the limit is not valid", body = super::error::ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn list_accounts(
    State(app): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<AccountPage>, ApiError> {
    let Query(params) =
        params.map_err(|_| ApiError::Invalid("the query string cannot be read".into()))?;
    let filter = filter_of(&app, &params)?;
    let limit = filter.limit;
    // One more than asked tells whether another page exists without an empty last page.
    let mut rows = app
        .host_api
        .list_account_summaries(&AccountFilter {
            limit: limit + 1,
            ..filter
        })
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|last| Cursor { after_id: last.id }.encode())
    } else {
        None
    };
    Ok(Json(AccountPage {
        accounts: rows.into_iter().map(AccountState::from).collect(),
        next_cursor,
    }))
}

fn filter_of(app: &AppState, params: &ListParams) -> Result<AccountFilter, ApiError> {
    // Absent means every provider here, not LinkedIn's: a list is for reconciliation.
    let provider = params
        .provider
        .as_deref()
        .map(|raw| named_provider(app, Some(raw)))
        .transpose()?;
    let status = params
        .status
        .as_deref()
        .map(|s| AccountStatus::parse(s).map_err(|e| ApiError::Invalid(e.0)))
        .transpose()?;
    let due_before = params
        .due_before
        .as_deref()
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::Invalid(
                        "due_before must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z".into(),
                    )
                })
        })
        .transpose()?;
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::Invalid(format!("limit must be 1 to {MAX_LIMIT}")))?,
    };
    let after_id = match params.cursor.as_deref() {
        None => 0,
        Some(raw) => {
            Cursor::decode(raw)
                .ok_or_else(|| ApiError::Refused {
                    status: StatusCode::BAD_REQUEST,
                    code: "invalid_cursor",
                    message:
                        "the cursor is not one this service issued: pass next_cursor as it came"
                            .into(),
                })?
                .after_id
        }
    };
    Ok(AccountFilter {
        provider,
        status,
        due_before,
        after_id,
        limit,
    })
}
