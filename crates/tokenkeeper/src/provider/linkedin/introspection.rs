//! LinkedIn's token introspection: what LinkedIn says about a token it issued (alive, expired
//! or revoked, until when, since when). Asked when an imported token's expiry is unknown.

use super::responses::normalize_scope;
pub use crate::provider::Introspection;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct IntrospectionResponse {
    active: bool,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    authorized_at: Option<i64>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

/// An access token lives 60 days; an instant further than two years from now, or before
/// LinkedIn's OAuth 2.0 existed, is a broken answer rather than a fact.
const MAX_DISTANCE_DAYS: i64 = 2 * 366;

impl IntrospectionResponse {
    /// `Err` describes an answer that cannot be what LinkedIn means.
    pub(super) fn into_introspection(self, now: DateTime<Utc>) -> Result<Introspection, String> {
        let status = self.status.unwrap_or_default();
        // Both fields must agree that the token is alive: either one saying otherwise wins.
        if !self.active || (!status.is_empty() && status != "active") {
            let status = match status.as_str() {
                "expired" | "revoked" => status,
                _ => "inactive".to_owned(),
            };
            return Ok(Introspection::Dead { status });
        }
        let expires_at = instant(self.expires_at, "expires_at", now)?
            .ok_or_else(|| "an active token without expires_at".to_owned())?;
        if expires_at <= now {
            return Ok(Introspection::Dead {
                status: "expired".to_owned(),
            });
        }
        let authorized_at = match instant(self.authorized_at, "authorized_at", now)? {
            Some(at) => Some(at),
            None => instant(self.created_at, "created_at", now)?,
        };
        Ok(Introspection::Active {
            expires_at,
            authorized_at: authorized_at.filter(|at| *at <= now),
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
    let at = DateTime::from_timestamp(seconds, 0)
        .filter(|at| (*at - now).abs() <= Duration::days(MAX_DISTANCE_DAYS))
        .ok_or_else(|| format!("{field} = {seconds} is not a plausible instant"))?;
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn read(json: &str) -> Result<Introspection, String> {
        serde_json::from_str::<IntrospectionResponse>(json)
            .map_err(|e| e.to_string())?
            .into_introspection(now())
    }

    #[test]
    fn an_active_token_gives_its_expiry_authorization_and_scope() {
        let expires = now() + Duration::days(40);
        let authorized = now() - Duration::days(20);
        let json = format!(
            r#"{{"active":true,"status":"active","scope":"openid,w_member_social","client_id":"c","created_at":1,"authorized_at":{},"expires_at":{},"auth_type":"3L"}}"#,
            authorized.timestamp(),
            expires.timestamp()
        );
        assert_eq!(
            read(&json),
            Ok(Introspection::Active {
                expires_at: expires,
                authorized_at: Some(authorized),
                scope: "openid w_member_social".into(),
            })
        );
    }

    #[test]
    fn created_at_stands_in_for_a_missing_authorized_at() {
        let created = now() - Duration::days(3);
        let json = format!(
            r#"{{"active":true,"status":"active","created_at":{},"expires_at":{}}}"#,
            created.timestamp(),
            (now() + Duration::days(1)).timestamp()
        );
        let Ok(Introspection::Active { authorized_at, .. }) = read(&json) else {
            panic!("{json}");
        };
        assert_eq!(authorized_at, Some(created));
    }

    #[test]
    fn expired_revoked_and_foreign_tokens_are_dead() {
        let dead = |status: &str| {
            Ok(Introspection::Dead {
                status: status.into(),
            })
        };
        assert_eq!(
            read(r#"{"active":false,"status":"revoked"}"#),
            dead("revoked")
        );
        assert_eq!(
            read(r#"{"active":false,"status":"expired"}"#),
            dead("expired")
        );
        assert_eq!(read(r#"{"active":false}"#), dead("inactive"));
        // The two fields disagreeing is read as dead: never keep a token LinkedIn doubts.
        assert_eq!(
            read(r#"{"active":true,"status":"revoked"}"#),
            dead("revoked")
        );
        let past = (now() - Duration::seconds(1)).timestamp();
        assert_eq!(
            read(&format!(
                r#"{{"active":true,"status":"active","expires_at":{past}}}"#
            )),
            dead("expired")
        );
    }

    #[test]
    fn absurd_or_missing_instants_are_refused() {
        for json in [
            r#"{"active":true,"status":"active"}"#.to_owned(),
            format!(r#"{{"active":true,"expires_at":{}}}"#, i64::MAX),
            format!(r#"{{"active":true,"expires_at":{}}}"#, i64::MIN),
            format!(
                r#"{{"active":true,"expires_at":{}}}"#,
                (now() + Duration::days(3 * 365)).timestamp()
            ),
        ] {
            assert!(read(&json).is_err(), "{json}");
        }
        assert!(read(r#"{"status":"active"}"#).is_err());
    }
}
