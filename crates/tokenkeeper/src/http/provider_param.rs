//! `?provider=NAME` on the account routes: which of the user's accounts a request means. One
//! user has one account per provider; a request naming none means LinkedIn's, as every
//! request did before there were others.

use super::error::ApiError;
use super::openapi::ProviderNameSchema;
use super::AppState;
use crate::domain::ProviderName;
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProviderParam {
    /// The account's provider, as configured (`[providers.NAME]`); `linkedin` when absent.
    #[param(value_type = Option<ProviderNameSchema>)]
    provider: Option<String>,
}

/// The provider a request names, checked against the configuration: a name that is not
/// configured is refused with the names that are, so a typo is not read as "no account".
pub(super) fn provider_of(
    app: &AppState,
    query: Result<Query<ProviderParam>, QueryRejection>,
) -> Result<ProviderName, ApiError> {
    let Query(param) =
        query.map_err(|_| ApiError::Invalid("the query string cannot be read".into()))?;
    named_provider(app, param.provider.as_deref())
}

/// `raw` as a configured provider's name; `linkedin` when absent.
pub(super) fn named_provider(app: &AppState, raw: Option<&str>) -> Result<ProviderName, ApiError> {
    let Some(raw) = raw else {
        return Ok(ProviderName::linkedin());
    };
    let name = ProviderName::parse(raw).map_err(|e| ApiError::Invalid(e.0))?;
    app.providers
        .named(&name)
        .map_err(|refused| ApiError::Invalid(refused.to_string()))?;
    Ok(name)
}

/// How people write `provider`'s network ("LinkedIn", "X"), for the API's messages.
pub(super) fn network_of(app: &AppState, provider: &ProviderName) -> String {
    app.providers
        .find(provider)
        .map_or_else(|| provider.to_string(), |p| p.display_name().to_owned())
}
