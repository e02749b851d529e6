//! What a refresh on demand, or a read that renewed its token, came to, as the API answers
//! it: the account it left, or the error a caller acts on.

use super::error::ApiError;
use crate::domain::{Account, ProviderName};
use crate::refresh::OnDemand;
use axum::http::StatusCode;

/// What a refresh on demand came to: the account it left, or the API's error for it. The
/// messages name the account's provider; the codes keep the names they had when LinkedIn was
/// the only one (`linkedin_unavailable`...), whatever the network, so clients need not change.
pub(super) fn settled(
    outcome: OnDemand,
    provider: &ProviderName,
    network: &str,
) -> Result<(&'static str, Account), ApiError> {
    let refused = |status, code, message: &str| ApiError::Refused {
        status,
        code,
        message: message.to_owned(),
    };
    let (result, account) = match outcome {
        OnDemand::Refreshed(account) => ("refreshed", account),
        OnDemand::NeedsReconnect(account) => ("needs_reconnect", account),
        OnDemand::TokenWorks(account) => ("token_works", account),
        OnDemand::Unknown => return Err(ApiError::NotFound),
        OnDemand::Busy => {
            return Err(refused(
                StatusCode::CONFLICT,
                "claimed",
                "another process is refreshing this account; try again in a moment",
            ))
        }
        OnDemand::NoRefreshToken => {
            return Err(refused(
                StatusCode::CONFLICT,
                "no_refresh_token",
                "this account has no live refresh token: only its member can renew the token, by reconnecting",
            ))
        }
        OnDemand::Discarded => {
            return Err(refused(
                StatusCode::CONFLICT,
                "changed",
                "the account was reconnected or deleted meanwhile; nothing was changed",
            ))
        }
        OnDemand::TooEarly { retry_at } => {
            return Err(refused(
                StatusCode::CONFLICT,
                "too_early",
                &format!(
                    "the network renews this token only from {}; it works until then, and the account is due again then",
                    retry_at.to_rfc3339()
                ),
            ))
        }
        // The network's words stay in our log: they may echo what we sent.
        OnDemand::Unavailable(_) => {
            return Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "linkedin_unavailable",
                &format!("{network} did not answer usefully; nothing was changed, and the sweep will try again"),
            ))
        }
        OnDemand::Misconfigured(_) => {
            return Err(refused(
                StatusCode::BAD_GATEWAY,
                "linkedin_misconfigured",
                &client_refused(provider, network),
            ))
        }
        OnDemand::Rejected(_) => {
            return Err(refused(
                StatusCode::BAD_GATEWAY,
                "linkedin_rejected",
                &format!("{network} refused this account with an answer it does not document; nothing was changed"),
            ))
        }
    };
    Ok((result, account))
}

/// `network` refused our client: what was done, and which settings the operator checks.
/// Shared by the API's answers and the dashboard's "Refresh now".
pub(super) fn client_refused(provider: &ProviderName, network: &str) -> String {
    if provider.as_str() == ProviderName::LINKEDIN {
        "LinkedIn refused our client (check linkedin.client_id and linkedin.client_secret); nothing was changed".to_owned()
    } else {
        format!("{network} refused our client (check providers.{provider}.client_id and client_secret); nothing was changed")
    }
}
