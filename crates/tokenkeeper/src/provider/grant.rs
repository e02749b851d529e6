//! What a provider hands back: grants from a code exchange, renewals from a refresh, the
//! member a token belongs to, what introspection says, and the one rule every refresh
//! answer goes through before it is stored (`keep_or_replace_refresh_token`).

use crate::domain::{AccessToken, RefreshToken, TokenSet};
use chrono::{DateTime, Utc};

/// The tokens of a code exchange.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub tokens: TokenSet,
    /// Whose grant this is, when the token response says it (TikTok's `open_id`, Instagram's
    /// `user_id`); `None` when only `Provider::identify` can tell (LinkedIn).
    pub subject: Option<String>,
}

/// What an account holds, as a refresh needs it: networks with a refresh grant send the
/// refresh token; those that renew the access token itself (Instagram, Threads, Facebook)
/// send that, and mind when it was issued.
#[derive(Debug, Clone, Copy)]
pub struct HeldGrant<'a> {
    pub access_token: &'a AccessToken,
    pub token_expires_at: DateTime<Utc>,
    pub refresh_token: Option<&'a RefreshToken>,
    /// When the access token held was issued: the last refresh, else the linking.
    pub issued_at: DateTime<Utc>,
}

/// A refresh's answer when the network answered it as asked.
#[derive(Debug, Clone)]
pub enum Renewal {
    /// New tokens. A `refresh_token` of `None` means the network sent none back; the stored
    /// one stays (`keep_or_replace_refresh_token`).
    Renewed(TokenSet),
    /// Too early to renew (Instagram and Threads renew only inside [issued + 24 h, expiry)):
    /// nothing changed, try again from `retry_at`. Not a failure: it counts against nobody.
    TooEarly { retry_at: DateTime<Utc> },
}

/// Who holds a token, as the network tells it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The network's stable id of the member (LinkedIn's `sub`).
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// What introspection tells about one access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspection {
    /// The token works until `expires_at`.
    Active {
        expires_at: DateTime<Utc>,
        /// When the member authorized the app (LinkedIn's `authorized_at`, else `created_at`).
        authorized_at: Option<DateTime<Utc>>,
        scope: String,
    },
    /// Expired, revoked, or not a token of this app (`active: false`): only the member can
    /// bring the account back by connecting again.
    Dead {
        /// `expired`, `revoked` or `inactive`.
        status: String,
    },
}

/// The refresh token to store after a refresh, whatever the network.
///
/// - None sent back (Google, and LinkedIn at times): the stored one stays, with its end of
///   life. Overwriting it with nothing would lose the grant for good.
/// - Another one sent back (X and TikTok rotate single-use tokens, generic rotation): it
///   replaces the stored one, with the end it came with, or the held end if it came without.
/// - The same one sent back: the held end stays. A network restating the life in whole
///   seconds on its own clock makes `now + expires_in` drift a second or so between refreshes,
///   and a drift must never move a deadline.
pub fn keep_or_replace_refresh_token(
    held: Option<&RefreshToken>,
    held_expires_at: Option<DateTime<Utc>>,
    mut answered: TokenSet,
) -> TokenSet {
    let same_token = match (&answered.refresh_token, held) {
        (Some(new), Some(held)) => new.expose() == held.expose(),
        _ => false,
    };
    if answered.refresh_token.is_none() {
        answered.refresh_token = held.cloned();
        answered.refresh_token_expires_at = held_expires_at;
    } else if (same_token && held_expires_at.is_some())
        || answered.refresh_token_expires_at.is_none()
    {
        answered.refresh_token_expires_at = held_expires_at;
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn answered(refresh_token: Option<&str>, refresh_days: Option<i64>) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new("new-access"),
            token_expires_at: now() + Duration::hours(1),
            refresh_token: refresh_token.map(RefreshToken::new),
            refresh_token_expires_at: refresh_days.map(|d| now() + Duration::days(d)),
            scope: "openid".into(),
        }
    }

    #[test]
    fn a_refresh_without_a_refresh_token_keeps_the_stored_one_and_its_end() {
        // Google never sends one back on refresh.
        let held = RefreshToken::new("held");
        let end = now() + Duration::days(200);
        let kept = keep_or_replace_refresh_token(Some(&held), Some(end), answered(None, None));
        assert_eq!(
            kept.refresh_token.map(|t| t.expose().to_owned()),
            Some("held".into())
        );
        assert_eq!(kept.refresh_token_expires_at, Some(end));
        assert_eq!(kept.access_token.expose(), "new-access");
    }

    #[test]
    fn a_rotated_refresh_token_replaces_the_stored_one() {
        // X and TikTok: the old one is spent; only the new one works.
        let held = RefreshToken::new("spent");
        let held_end = now() + Duration::days(100);
        let stored = keep_or_replace_refresh_token(
            Some(&held),
            Some(held_end),
            answered(Some("rotated"), Some(180)),
        );
        assert_eq!(
            stored.refresh_token.map(|t| t.expose().to_owned()),
            Some("rotated".into())
        );
        assert_eq!(
            stored.refresh_token_expires_at,
            Some(now() + Duration::days(180))
        );
        // Rotated without a stated life: the chain's end is still the one we knew.
        let stored = keep_or_replace_refresh_token(
            Some(&held),
            Some(held_end),
            answered(Some("rotated"), None),
        );
        assert_eq!(stored.refresh_token_expires_at, Some(held_end));
    }

    #[test]
    fn the_same_refresh_token_restated_keeps_its_original_end() {
        let held = RefreshToken::new("same");
        let end = now() + Duration::days(300);
        let stored = keep_or_replace_refresh_token(
            Some(&held),
            Some(end),
            answered(Some("same"), Some(301)),
        );
        assert_eq!(stored.refresh_token_expires_at, Some(end));
    }

    #[test]
    fn a_first_refresh_token_is_taken_as_sent() {
        let stored = keep_or_replace_refresh_token(None, None, answered(Some("first"), Some(365)));
        assert_eq!(
            stored.refresh_token.map(|t| t.expose().to_owned()),
            Some("first".into())
        );
        assert_eq!(
            stored.refresh_token_expires_at,
            Some(now() + Duration::days(365))
        );
    }
}
