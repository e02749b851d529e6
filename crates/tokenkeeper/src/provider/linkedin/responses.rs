//! LinkedIn's JSON bodies, typed. Our own types rather than a generic OAuth client's, because
//! LinkedIn omits the `token_type` field those require.

use crate::domain::{AccessToken, RefreshToken, TokenSet};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct TokenResponse {
    access_token: String,
    expires_in: i64,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expires_in: Option<i64>,
}

/// The longest lifetime we believe: LinkedIn issues 60-day access tokens and 365-day refresh
/// tokens. Anything beyond about two years (or negative) is a broken answer, not a gift, and
/// would overflow date arithmetic near its extremes.
const MAX_LIFETIME_SECONDS: i64 = 2 * 366 * 24 * 3600;

impl TokenResponse {
    /// Turns relative lifetimes into instants, measured from `now` (when we received them).
    /// `Err` describes a lifetime outside what LinkedIn could mean.
    pub(super) fn into_token_set(self, now: DateTime<Utc>) -> Result<TokenSet, String> {
        let refresh_token = self.refresh_token.filter(|t| !t.is_empty());
        let refresh_token_expires_at = match (&refresh_token, self.refresh_token_expires_in) {
            (Some(_), Some(secs)) => Some(after(now, secs, "refresh_token_expires_in")?),
            _ => None,
        };
        Ok(TokenSet {
            access_token: AccessToken::new(self.access_token),
            token_expires_at: after(now, self.expires_in, "expires_in")?,
            refresh_token: refresh_token.map(RefreshToken::new),
            refresh_token_expires_at,
            scope: normalize_scope(self.scope.as_deref().unwrap_or_default()),
        })
    }
}

fn after(now: DateTime<Utc>, seconds: i64, field: &str) -> Result<DateTime<Utc>, String> {
    if !(0..=MAX_LIFETIME_SECONDS).contains(&seconds) {
        return Err(format!(
            "{field} = {seconds} is outside 0..={MAX_LIFETIME_SECONDS} seconds"
        ));
    }
    now.checked_add_signed(Duration::seconds(seconds))
        .ok_or_else(|| format!("{field} = {seconds} overflows the calendar"))
}

/// LinkedIn returns granted scopes separated by commas or by spaces; we store spaces.
pub(super) fn normalize_scope(raw: &str) -> String {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The OAuth error body of the token endpoints.
#[derive(Deserialize, Default)]
pub(super) struct OAuthErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// The error body of LinkedIn's REST API (userinfo).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiErrorBody {
    #[serde(default)]
    pub service_error_code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
pub(super) struct UserInfoResponse {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_without_token_type_and_with_comma_scopes() {
        let json = r#"{"access_token":"AQV","expires_in":5183999,"scope":"openid,profile,w_member_social","refresh_token":"AQX","refresh_token_expires_in":31536059}"#;
        let now = Utc::now();
        let set = serde_json::from_str::<TokenResponse>(json)
            .unwrap()
            .into_token_set(now)
            .unwrap();
        assert_eq!(set.scope, "openid profile w_member_social");
        assert_eq!(set.token_expires_at, now + Duration::seconds(5_183_999));
        assert_eq!(
            set.refresh_token_expires_at,
            Some(now + Duration::seconds(31_536_059))
        );
        assert_eq!(set.refresh_token.unwrap().expose(), "AQX");
    }

    #[test]
    fn non_partner_response_has_no_refresh_token() {
        let json = r#"{"access_token":"AQV","expires_in":5184000,"scope":"openid profile email"}"#;
        let set = serde_json::from_str::<TokenResponse>(json)
            .unwrap()
            .into_token_set(Utc::now())
            .unwrap();
        assert!(set.refresh_token.is_none());
        assert!(set.refresh_token_expires_at.is_none());
        assert_eq!(set.scope, "openid profile email");
    }

    #[test]
    fn absurd_lifetimes_are_malformed_not_a_panic() {
        let now = Utc::now();
        for (expires_in, refresh_expires_in) in [
            (i64::MAX.to_string(), "31536059".to_owned()),
            (i64::MIN.to_string(), "31536059".to_owned()),
            ("-1".to_owned(), "31536059".to_owned()),
            ("5184000".to_owned(), i64::MAX.to_string()),
            ("5184000".to_owned(), "-86400".to_owned()),
            ("5184000".to_owned(), (3 * 365 * 86400).to_string()),
        ] {
            let json = format!(
                r#"{{"access_token":"AQV","expires_in":{expires_in},"refresh_token":"AQX","refresh_token_expires_in":{refresh_expires_in}}}"#
            );
            let parsed = serde_json::from_str::<TokenResponse>(&json).unwrap();
            assert!(parsed.into_token_set(now).is_err(), "{json}");
        }
    }

    #[test]
    fn lifetimes_up_to_two_leap_years_are_believed() {
        let now = Utc::now();
        let longest = 2 * 366 * 24 * 3600;
        for (seconds, believed) in [(longest, true), (longest + 1, false)] {
            let json = format!(
                r#"{{"access_token":"AQV","expires_in":5184000,"refresh_token":"AQX","refresh_token_expires_in":{seconds}}}"#
            );
            let parsed = serde_json::from_str::<TokenResponse>(&json).unwrap();
            assert_eq!(parsed.into_token_set(now).is_ok(), believed, "{seconds}");
        }
    }
}
