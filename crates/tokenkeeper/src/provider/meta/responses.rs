//! Meta's success bodies, typed, and turned into the domain's tokens and identities. Ids come
//! as numbers or strings; Instagram's code exchange may wrap its answer in `data: [..]`.

use crate::domain::{AccessToken, TokenSet};
use crate::provider::{Identity, Introspection};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

/// A long-lived token lives "about 60 days"; Facebook has been known to leave `expires_in`
/// out of its long-lived answers, and this is what it means then.
const LONG_LIVED_DEFAULT_SECONDS: i64 = 60 * 86_400;

/// Anything beyond about two years (or negative) is a broken answer, not a gift.
const MAX_LIFETIME_SECONDS: i64 = 2 * 366 * 86_400;

/// A user id as Meta sends it: a number (too large for JavaScript, so sometimes a string).
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub(super) enum Id {
    Number(u64),
    Text(String),
}

impl Id {
    pub fn into_string(self) -> String {
        match self {
            Id::Number(n) => n.to_string(),
            Id::Text(s) => s,
        }
    }
}

/// Granted permissions: Instagram lists them comma-separated or as an array.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub(super) enum Permissions {
    List(Vec<String>),
    Joined(String),
}

impl Permissions {
    /// Space-separated, as accounts store scopes.
    pub fn to_scope(&self) -> String {
        let items: Vec<&str> = match self {
            Permissions::List(list) => list.iter().map(String::as_str).collect(),
            Permissions::Joined(joined) => joined.split([',', ' ']).collect(),
        };
        items
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Instagram's and Threads' code exchange: the short-lived token and who consented.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum CodeExchange {
    Wrapped { data: Vec<ShortLived> },
    Flat(ShortLived),
}

#[derive(Deserialize)]
pub(super) struct ShortLived {
    pub access_token: String,
    #[serde(default)]
    pub user_id: Option<Id>,
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

impl CodeExchange {
    pub fn into_short_lived(self) -> Option<ShortLived> {
        match self {
            CodeExchange::Wrapped { data } => data.into_iter().next(),
            CodeExchange::Flat(one) => Some(one),
        }
    }
}

/// `{access_token, token_type, expires_in}`: every exchange and renewal.
#[derive(Deserialize)]
pub(super) struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl TokenResponse {
    /// The long-lived token, its end measured from `now`. Meta has no refresh tokens; `scope`
    /// is what the caller knows (empty on a renewal: the stored one stays).
    pub fn into_token_set(self, now: DateTime<Utc>, scope: String) -> Result<TokenSet, String> {
        if self.access_token.is_empty() {
            return Err("an empty access_token".into());
        }
        let seconds = self.expires_in.unwrap_or(LONG_LIVED_DEFAULT_SECONDS);
        if !(0..=MAX_LIFETIME_SECONDS).contains(&seconds) {
            return Err(format!(
                "expires_in = {seconds} is outside 0..={MAX_LIFETIME_SECONDS} seconds"
            ));
        }
        Ok(TokenSet {
            access_token: AccessToken::new(self.access_token),
            token_expires_at: now + Duration::seconds(seconds),
            refresh_token: None,
            refresh_token_expires_at: None,
            scope,
        })
    }
}

/// `/me`.
#[derive(Deserialize)]
pub(super) struct Me {
    #[serde(default)]
    pub id: Option<Id>,
    /// Instagram: the professional account's id, which its code exchange names.
    #[serde(default)]
    pub user_id: Option<Id>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

impl Me {
    pub fn into_identity(self) -> Option<Identity> {
        let subject = self.user_id.or(self.id)?.into_string();
        Some(Identity {
            subject,
            name: self.name.or(self.username),
            email: None,
        })
    }
}

/// Facebook's `debug_token`: `{"data": {is_valid, expires_at, issued_at, scopes, user_id,
/// error: {code, subcode, message}}}`.
#[derive(Deserialize)]
pub(super) struct DebugToken {
    data: DebugData,
}

#[derive(Deserialize)]
struct DebugData {
    is_valid: bool,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    issued_at: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    error: Option<DebugError>,
}

#[derive(Deserialize)]
struct DebugError {
    #[serde(default)]
    subcode: Option<i64>,
}

impl DebugToken {
    pub fn into_introspection(self, now: DateTime<Utc>) -> Result<Introspection, String> {
        let data = self.data;
        let instant =
            |seconds: Option<i64>, field: &str| -> Result<Option<DateTime<Utc>>, String> {
                match seconds {
                    None | Some(0) => Ok(None),
                    Some(s) => DateTime::from_timestamp(s, 0)
                        .filter(|at| (*at - now).abs() <= Duration::seconds(MAX_LIFETIME_SECONDS))
                        .map(Some)
                        .ok_or_else(|| format!("{field} = {s} is not a plausible instant")),
                }
            };
        let expires_at = instant(data.expires_at, "expires_at")?;
        if !data.is_valid || expires_at.is_some_and(|at| at <= now) {
            let subcode = data.error.and_then(|e| e.subcode);
            let status = match subcode {
                Some(463) => "expired",
                Some(458 | 460) => "revoked",
                _ if expires_at.is_some_and(|at| at <= now) => "expired",
                _ => "inactive",
            };
            return Ok(Introspection::Dead {
                status: status.into(),
            });
        }
        // `expires_at: 0` is a token that never expires (a Page token): not a user token
        // this service renews.
        let expires_at = expires_at
            .ok_or_else(|| "a valid token without an expiry (a Page token?)".to_owned())?;
        Ok(Introspection::Active {
            expires_at,
            authorized_at: instant(data.issued_at, "issued_at")?.filter(|at| *at <= now),
            scope: data.scopes.join(" "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    #[test]
    fn reads_instagrams_code_exchange_flat_or_wrapped() {
        for json in [
            r#"{"access_token":"IGAA1","user_id":17841400000000001,"permissions":["instagram_business_basic","instagram_business_content_publish"]}"#,
            r#"{"data":[{"access_token":"IGAA1","user_id":"17841400000000001","permissions":"instagram_business_basic,instagram_business_content_publish"}]}"#,
        ] {
            let short = serde_json::from_str::<CodeExchange>(json)
                .unwrap()
                .into_short_lived()
                .unwrap();
            assert_eq!(short.access_token, "IGAA1");
            assert_eq!(short.user_id.unwrap().into_string(), "17841400000000001");
            assert_eq!(
                short.permissions.unwrap().to_scope(),
                "instagram_business_basic instagram_business_content_publish"
            );
        }
    }

    #[test]
    fn a_long_lived_token_without_expires_in_lives_sixty_days() {
        let set = TokenResponse {
            access_token: "EAAB".into(),
            expires_in: None,
        }
        .into_token_set(now(), String::new())
        .unwrap();
        assert_eq!(set.token_expires_at, now() + Duration::days(60));
        assert!(set.refresh_token.is_none());
        for bad in [-1, i64::MAX, 3 * 366 * 86_400] {
            let answer = TokenResponse {
                access_token: "EAAB".into(),
                expires_in: Some(bad),
            };
            assert!(
                answer.into_token_set(now(), String::new()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_token_tells_alive_expired_and_removed() {
        let read = |json: String| {
            serde_json::from_str::<DebugToken>(&json)
                .unwrap()
                .into_introspection(now())
        };
        let end = now() + Duration::days(50);
        let issued = now() - Duration::days(10);
        assert_eq!(
            read(format!(
                r#"{{"data":{{"app_id":"1","type":"USER","is_valid":true,"expires_at":{},"issued_at":{},"scopes":["public_profile","email"],"user_id":"42"}}}}"#,
                end.timestamp(),
                issued.timestamp()
            )),
            Ok(Introspection::Active {
                expires_at: end,
                authorized_at: Some(issued),
                scope: "public_profile email".into()
            })
        );
        let dead = |subcode: i64| {
            read(format!(
                r#"{{"data":{{"is_valid":false,"expires_at":{},"error":{{"code":190,"subcode":{subcode},"message":"x"}}}}}}"#,
                end.timestamp()
            ))
        };
        let status = |s: &str| Ok(Introspection::Dead { status: s.into() });
        assert_eq!(dead(463), status("expired"));
        assert_eq!(dead(458), status("revoked"));
        assert_eq!(dead(467), status("inactive"));
        assert!(read(r#"{"data":{"is_valid":true,"expires_at":0}}"#.into()).is_err());
    }
}
