//! RFC 6749's token response, RFC 7662's introspection response and the OAuth error body,
//! typed, with lifetimes turned into instants on the `now` they were received at.

use crate::domain::{AccessToken, RefreshToken, TokenSet};
use crate::provider::Introspection;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct TokenResponse {
    access_token: String,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    /// TikTok spells it `refresh_expires_in`.
    #[serde(default, alias = "refresh_expires_in", deserialize_with = "seconds")]
    refresh_token_expires_in: Option<i64>,
}

/// A lifetime as servers write it: a number, or a number in a string (seen in the wild). A
/// value that is neither is no lifetime; what it means is decided below, never by throwing
/// the answer (and a rotated refresh token in it) away.
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(i64),
        Float(f64),
        Text(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Written>::deserialize(d)? {
        Some(Written::Number(n)) => Some(n),
        // Saturates: an absurd float is clamped with the rest below.
        Some(Written::Float(f)) if f.is_finite() => Some(f as i64),
        Some(Written::Text(t)) => t.trim().parse().ok(),
        _ => None,
    })
}

/// The longest lifetime we believe (two leap years). Anything longer, or negative, is a broken
/// answer, not a gift, and would overflow date arithmetic near its extremes.
const MAX_LIFETIME_SECONDS: i64 = 2 * 366 * 24 * 3600;

/// What a token response is read with besides its body.
pub(super) struct Reading<'a> {
    pub now: DateTime<Utc>,
    /// For a response without `expires_in`.
    pub assumed_token_life: Duration,
    /// For a response without `scope`: RFC 6749 says it is then the scope requested.
    pub requested_scope: &'a str,
}

impl TokenResponse {
    /// `Err` describes what is wrong with the response, without any token in it.
    pub(super) fn into_token_set(self, reading: &Reading<'_>) -> Result<TokenSet, String> {
        let now = reading.now;
        if self.access_token.is_empty() {
            return Err("the access token is empty".into());
        }
        let token_expires_at = match self.expires_in {
            Some(seconds) => after(now, seconds),
            None => now + reading.assumed_token_life,
        };
        // No refresh token (or an empty one) in a refresh answer: the stored one stays
        // (`keep_or_replace_refresh_token`), so nothing is decided here.
        let refresh_token = self.refresh_token.filter(|t| !t.is_empty());
        let refresh_token_expires_at = match (&refresh_token, self.refresh_token_expires_in) {
            // 0 or less is "no end" (Keycloak's offline tokens say 0), never "dead now".
            (Some(_), Some(seconds)) if seconds > 0 => Some(after(now, seconds)),
            _ => None,
        };
        let scope = match self.scope {
            Some(scope) => normalize_scope(&scope),
            None => normalize_scope(reading.requested_scope),
        };
        Ok(TokenSet {
            access_token: AccessToken::new(self.access_token),
            token_expires_at,
            refresh_token: refresh_token.map(RefreshToken::new),
            refresh_token_expires_at,
            scope,
        })
    }
}

/// `now` plus a lifetime clamped to 0..=MAX_LIFETIME_SECONDS: an answer that holds new tokens
/// is kept whatever lifetime it states (a rotated refresh token in it is the only one left);
/// a negative life reads as already over, so the next read renews it, and a huge one as the
/// longest we believe, so the sweep still comes back in time.
fn after(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    now + Duration::seconds(seconds.clamp(0, MAX_LIFETIME_SECONDS))
}

/// Scopes come back separated by spaces (RFC 6749) or commas (TikTok); we store spaces.
pub(super) fn normalize_scope(raw: &str) -> String {
    raw.split([',', ' '])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 6749's error body, and TikTok's `log_id`, which its support asks for.
#[derive(Deserialize, Default)]
pub struct OAuthErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub log_id: Option<String>,
}

/// RFC 7662's answer, the fields we use.
#[derive(Deserialize)]
pub(super) struct IntrospectionResponse {
    active: bool,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

impl IntrospectionResponse {
    pub(super) fn into_introspection(self, now: DateTime<Utc>) -> Result<Introspection, String> {
        if !self.active {
            return Ok(Introspection::Dead {
                status: "inactive".into(),
            });
        }
        let expires_at = instant(self.exp, "exp", now)?
            .ok_or("an active token without `exp`: its life is unknown")?;
        if expires_at <= now {
            return Ok(Introspection::Dead {
                status: "expired".into(),
            });
        }
        Ok(Introspection::Active {
            expires_at,
            authorized_at: instant(self.iat, "iat", now)?,
            scope: normalize_scope(self.scope.as_deref().unwrap_or_default()),
        })
    }
}

fn instant(
    seconds: Option<i64>,
    field: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, String> {
    let Some(seconds) = seconds else {
        return Ok(None);
    };
    DateTime::from_timestamp(seconds, 0)
        .filter(|at| (*at - now).abs() <= Duration::seconds(MAX_LIFETIME_SECONDS))
        .map(Some)
        .ok_or_else(|| format!("{field} = {seconds} is not a plausible instant"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn read(json: &str) -> Result<TokenSet, String> {
        let reading = Reading {
            now: now(),
            assumed_token_life: Duration::hours(1),
            requested_scope: "openid email",
        };
        serde_json::from_str::<TokenResponse>(json)
            .map_err(|e| e.to_string())?
            .into_token_set(&reading)
    }

    #[test]
    fn lifetimes_become_instants_on_now() {
        let set = read(r#"{"access_token":"a","token_type":"bearer","expires_in":7200,"refresh_token":"r","refresh_token_expires_in":86400,"scope":"tweet.read offline.access"}"#).unwrap();
        assert_eq!(set.token_expires_at, now() + Duration::hours(2));
        assert_eq!(
            set.refresh_token_expires_at,
            Some(now() + Duration::days(1))
        );
        assert_eq!(set.refresh_token.unwrap().expose(), "r");
        assert_eq!(set.scope, "tweet.read offline.access");
        // TikTok's spelling of the refresh token's life, and its comma-separated scopes.
        let set = read(r#"{"access_token":"a","expires_in":7200,"refresh_token":"r","refresh_expires_in":600,"scope":"user.info.basic,video.list","open_id":"o"}"#).unwrap();
        assert_eq!(
            set.refresh_token_expires_at,
            Some(now() + Duration::minutes(10))
        );
        assert_eq!(set.scope, "user.info.basic video.list");
    }

    #[test]
    fn a_refresh_answer_without_a_refresh_token_says_none() {
        // Google's refresh: the engine keeps the stored token; nothing is invented here.
        let set = read(r#"{"access_token":"a","expires_in":3599}"#).unwrap();
        assert!(set.refresh_token.is_none());
        assert!(set.refresh_token_expires_at.is_none());
        assert_eq!(set.scope, "openid email", "the scope requested");
        let set = read(r#"{"access_token":"a","expires_in":3599,"refresh_token":""}"#).unwrap();
        assert!(set.refresh_token.is_none());
    }

    #[test]
    fn a_missing_life_is_assumed_and_an_absurd_one_clamped_never_refused() {
        let set = read(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(set.token_expires_at, now() + Duration::hours(1));
        // The tokens are kept whatever life is stated: a rotated refresh token in the answer
        // is the only one left.
        let past = read(r#"{"access_token":"a","expires_in":-1,"refresh_token":"r"}"#).unwrap();
        assert_eq!(past.token_expires_at, now());
        assert_eq!(past.refresh_token.unwrap().expose(), "r");
        let huge = read(&format!(
            r#"{{"access_token":"a","expires_in":{}}}"#,
            i64::MAX
        ))
        .unwrap();
        assert_eq!(
            huge.token_expires_at,
            now() + Duration::seconds(MAX_LIFETIME_SECONDS)
        );
        let text = read(r#"{"access_token":"a","expires_in":"3600"}"#).unwrap();
        assert_eq!(text.token_expires_at, now() + Duration::hours(1));
        let odd = read(r#"{"access_token":"a","expires_in":{"s":1}}"#).unwrap();
        assert_eq!(
            odd.token_expires_at,
            now() + Duration::hours(1),
            "as if absent"
        );
        // No end stated, or 0 or less: the refresh token has no known end.
        for json in [
            r#"{"access_token":"a","expires_in":60,"refresh_token":"r","refresh_token_expires_in":0}"#,
            r#"{"access_token":"a","expires_in":60,"refresh_token":"r","refresh_token_expires_in":-5}"#,
        ] {
            let set = read(json).unwrap();
            assert!(
                set.refresh_token.is_some() && set.refresh_token_expires_at.is_none(),
                "{json}"
            );
        }
        for json in [
            r#"{"access_token":"","expires_in":60}"#,
            r#"{"expires_in":60}"#,
        ] {
            assert!(read(json).is_err(), "{json}");
        }
    }

    #[test]
    fn introspection_reads_active_inactive_and_expired() {
        let read = |json: &str| {
            serde_json::from_str::<IntrospectionResponse>(json)
                .unwrap()
                .into_introspection(now())
        };
        let exp = (now() + Duration::hours(1)).timestamp();
        assert_eq!(
            read(&format!(r#"{{"active":true,"exp":{exp},"scope":"a b"}}"#)),
            Ok(Introspection::Active {
                expires_at: now() + Duration::hours(1),
                authorized_at: None,
                scope: "a b".into(),
            })
        );
        let dead = |status: &str| {
            Ok(Introspection::Dead {
                status: status.into(),
            })
        };
        assert_eq!(read(r#"{"active":false}"#), dead("inactive"));
        let past = (now() - Duration::seconds(1)).timestamp();
        assert_eq!(
            read(&format!(r#"{{"active":true,"exp":{past}}}"#)),
            dead("expired")
        );
        assert!(read(r#"{"active":true}"#).is_err());
        assert!(read(&format!(r#"{{"active":true,"exp":{}}}"#, i64::MAX)).is_err());
    }
}
