//! `GET /api/v1/forecast?days=N[&provider=NAME]`: what the coming days hold, per UTC day:
//! refreshes the sweep will make, and members who will have to act (reconnect) and why, for
//! every provider's accounts or one provider's. Counted by the database in one statement,
//! whatever the number of accounts.

use super::error::ApiError;
use super::error::ErrorBody;
use super::provider_param::named_provider;
use super::AppState;
use crate::store::{ForecastCount, ForecastKind};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const MAX_DAYS: i64 = 365;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastParams {
    /// Days ahead, today (UTC) included: 1 to 365.
    #[param(required = true, value_type = i64, minimum = 1, maximum = 365)]
    days: Option<String>,
    /// Only this provider's accounts (a configured name, `[providers.NAME]`); every
    /// provider's when absent.
    #[param(value_type = Option<String>, min_length = 1, max_length = 32, pattern = "^[a-z][a-z0-9_]{0,31}$")]
    provider: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Forecast {
    /// Days are UTC calendar days.
    pub timezone: String,
    pub days: Vec<ForecastDay>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ForecastDay {
    pub date: NaiveDate,
    /// Accounts the sweep will refresh that day (overdue ones count on the first day).
    pub refreshes_due: i64,
    /// Members who will have to reconnect because of that day: the sum of the three below.
    pub members_to_act: i64,
    /// Due with no refresh token (an app without partner access).
    pub no_refresh_token: i64,
    /// Due when the refresh token reaches its fixed end of life.
    pub refresh_token_ending: i64,
    /// Already asked to reconnect, counted on the day their access token dies.
    pub needs_reconnect: i64,
}

/// Refreshes and reconnections ahead, per UTC day.
#[utoipa::path(
    get,
    path = "/api/v1/forecast",
    params(ForecastParams),
    responses(
        (status = 200, description = "One entry per day, today first", body = Forecast),
        (status = 422, description = "`days` is missing or not 1 to 365, or `provider` names no configured provider", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
pub async fn forecast(
    State(app): State<AppState>,
    params: Result<Query<ForecastParams>, QueryRejection>,
) -> Result<Json<Forecast>, ApiError> {
    let Query(params) =
        params.map_err(|_| ApiError::Invalid("the query string cannot be read".into()))?;
    let days = params
        .days
        .as_deref()
        .and_then(|raw| raw.parse::<i64>().ok())
        .filter(|n| (1..=MAX_DAYS).contains(n))
        .ok_or_else(|| ApiError::Invalid(format!("days must be 1 to {MAX_DAYS}")))?;
    // Absent means every provider: the forecast is the fleet's unless narrowed.
    let provider = params
        .provider
        .as_deref()
        .map(|raw| named_provider(&app, Some(raw)))
        .transpose()?;
    let today = app.clock.now().date_naive();
    let from = today.and_time(chrono::NaiveTime::MIN).and_utc();
    let counts = app.host_api.forecast(from, days, provider.as_ref()).await?;
    Ok(Json(Forecast {
        timezone: "UTC".into(),
        days: by_day(from, days, &counts),
    }))
}

/// One entry per day, zeros included, from the database's counts by day and kind.
pub(super) fn by_day(from: DateTime<Utc>, days: i64, counts: &[ForecastCount]) -> Vec<ForecastDay> {
    let mut out: Vec<ForecastDay> = (0..days)
        .map(|d| ForecastDay {
            date: (from + Duration::days(d)).date_naive(),
            ..ForecastDay::default()
        })
        .collect();
    for count in counts {
        let Some(day) = usize::try_from(count.day.max(0))
            .ok()
            .and_then(|d| out.get_mut(d))
        else {
            continue;
        };
        match count.kind {
            ForecastKind::Refresh => day.refreshes_due += count.accounts,
            ForecastKind::NoRefreshToken => day.no_refresh_token += count.accounts,
            ForecastKind::RefreshTokenEnding => day.refresh_token_ending += count.accounts,
            ForecastKind::NeedsReconnect => day.needs_reconnect += count.accounts,
        }
    }
    for day in &mut out {
        day.members_to_act = day.no_refresh_token + day.refresh_token_ending + day.needs_reconnect;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_day_is_listed_and_counts_land_on_theirs() {
        let from = Utc.with_ymd_and_hms(2026, 12, 30, 0, 0, 0).unwrap();
        let counts = [
            ForecastCount {
                day: 0,
                kind: ForecastKind::Refresh,
                accounts: 5,
            },
            ForecastCount {
                day: 2,
                kind: ForecastKind::NoRefreshToken,
                accounts: 2,
            },
            ForecastCount {
                day: 2,
                kind: ForecastKind::NeedsReconnect,
                accounts: 1,
            },
            ForecastCount {
                day: 2,
                kind: ForecastKind::RefreshTokenEnding,
                accounts: 4,
            },
            // Outside the window: ignored rather than trusted.
            ForecastCount {
                day: 3,
                kind: ForecastKind::Refresh,
                accounts: 9,
            },
        ];
        let days = by_day(from, 3, &counts);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].date.to_string(), "2026-12-30");
        assert_eq!(days[2].date.to_string(), "2027-01-01");
        assert_eq!(days[0].refreshes_due, 5);
        assert_eq!(days[0].members_to_act, 0);
        assert_eq!(days[1].refreshes_due + days[1].members_to_act, 0);
        assert_eq!(days[2].members_to_act, 7);
        assert_eq!(days[2].refresh_token_ending, 4);
    }
}
