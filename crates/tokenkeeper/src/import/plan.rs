//! From a valid row (and what LinkedIn said about its token, when asked) to the account to
//! store: its dates, its status, its `expiration`. Pure: the same row always plans the same.

use super::lookups::Holder;
use super::row::ValidRow;
use crate::domain::{AccountMember, ExpiryPolicy, ImportedAccount, TokenSet};
use crate::provider::Introspection;
use chrono::{DateTime, Utc};

/// Whether the row's token must be introspected: only when the file leaves its expiry out.
pub fn needs_introspection(row: &ValidRow) -> bool {
    row.token_expires_at.is_none()
}

/// Whether userinfo must tell whose the token is: only when the file leaves the member out.
pub fn needs_holder(row: &ValidRow) -> bool {
    row.member_id.is_none()
}

/// The account a row becomes. `seen` is introspection's answer and `holder` userinfo's, when
/// they were asked.
///
/// - `token_expires_at`: the row's, else LinkedIn's; a row without one that LinkedIn was not
///   asked about is refused (the sweep could not know when it is due).
/// - `linked_at`: the row's, else when LinkedIn says the member authorized the app, else now.
/// - A token LinkedIn reports revoked (or not this app's) needs its member to reconnect. An
///   expired one too, unless a live refresh token can renew it: then it is active and due.
/// - `member_id`: the row's, else userinfo's. A token userinfo refuses cannot say whose it
///   is: with a live refresh token the account is kept, needing its member, whose connection
///   will tell; without one there is nothing to keep and the row is refused. Either way the
///   token counts as ended now.
pub fn plan(
    row: ValidRow,
    seen: Option<&Introspection>,
    holder: Option<&Holder>,
    policy: &ExpiryPolicy,
    now: DateTime<Utc>,
) -> Result<ImportedAccount, String> {
    let (seen_expiry, seen_authorized, seen_scope, dead) = match seen {
        Some(Introspection::Active {
            expires_at,
            authorized_at,
            scope,
        }) => (Some(*expires_at), *authorized_at, scope.as_str(), None),
        Some(Introspection::Dead { status }) => (None, None, "", Some(status.as_str())),
        None => (None, None, "", None),
    };
    let token_expires_at = match (row.token_expires_at, seen_expiry, dead) {
        (Some(at), _, _) | (None, Some(at), _) => at,
        // Dead, and nobody says since when: it is dead now.
        (None, None, Some(_)) => now,
        (None, None, None) => {
            return Err(
                "token_expires_at: required when LinkedIn is not asked (--no-introspect)".into(),
            )
        }
    };
    // A token userinfo refuses is dead now, whatever the row says.
    let refused = holder == Some(&Holder::TokenRefused);
    let token_expires_at = match refused {
        true => token_expires_at.min(now),
        false => token_expires_at,
    };
    let linked_at = row.linked_at.or(seen_authorized).unwrap_or(now);
    if linked_at > now {
        return Err("linked_at: lies in the future".into());
    }
    let scope = if row.scope.is_empty() {
        seen_scope.to_owned()
    } else {
        row.scope
    };
    let refreshable =
        row.refresh_token.is_some() && row.refresh_token_expires_at.is_none_or(|end| end > now);
    let member = match (row.member_id, holder) {
        (Some(id), _) => AccountMember::Known(id),
        (None, Some(Holder::Member(id))) => AccountMember::Known(id.clone()),
        (None, Some(Holder::TokenRefused)) if refreshable => AccountMember::NotKnownYet,
        (None, Some(Holder::TokenRefused)) => return Err(
            "member_id: not given, and LinkedIn refuses the access token (userinfo answered 401), so it cannot tell whose it is; with no live refresh token there is nothing to keep: send the member a connect link".into(),
        ),
        (None, None) => {
            return Err("member_id: required when LinkedIn is not asked (--no-introspect)".into())
        }
    };
    let tokens = TokenSet {
        access_token: row.access_token,
        token_expires_at,
        refresh_token: row.refresh_token,
        refresh_token_expires_at: row.refresh_token_expires_at,
        scope,
    };
    let account = ImportedAccount::active(
        row.user_id,
        member,
        row.email,
        row.name,
        tokens,
        linked_at,
        policy,
    );
    let reason = match dead {
        _ if account.member_id == AccountMember::NotKnownYet => {
            "imported: LinkedIn refuses the access token and the row gives no member_id; the member's next connection tells who it is".to_owned()
        }
        Some("expired") | None if token_expires_at > now || refreshable => return Ok(account),
        Some(status @ ("revoked" | "inactive")) => {
            format!("imported: LinkedIn reports the access token {status}")
        }
        _ => "imported: the access token has expired and no live refresh token can renew it"
            .to_owned(),
    };
    Ok(account.needs_reconnect(now, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccessToken, AccountStatus, EmailAddress, MemberId, RefreshToken, UserId};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn row() -> ValidRow {
        ValidRow {
            user_id: UserId::parse("u-1").unwrap(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            access_token: AccessToken::new("AQV"),
            refresh_token: None,
            token_expires_at: None,
            refresh_token_expires_at: None,
            linked_at: None,
            member_id: Some(MemberId::parse("m-1").unwrap()),
            name: None,
            scope: String::new(),
        }
    }

    fn active(expires_in_days: i64, authorized_days_ago: i64) -> Introspection {
        Introspection::Active {
            expires_at: now() + Duration::days(expires_in_days),
            authorized_at: Some(now() - Duration::days(authorized_days_ago)),
            scope: "openid w_member_social".into(),
        }
    }

    #[test]
    fn linkedins_answer_fills_what_the_row_leaves_out() {
        let planned = plan(
            row(),
            Some(&active(40, 20)),
            None,
            &ExpiryPolicy::default(),
            now(),
        )
        .unwrap();
        assert_eq!(planned.status, AccountStatus::Active);
        assert_eq!(planned.tokens.token_expires_at, now() + Duration::days(40));
        assert_eq!(planned.linked_at, now() - Duration::days(20));
        assert_eq!(planned.expiration, now() + Duration::days(30));
        assert_eq!(planned.tokens.scope, "openid w_member_social");
    }

    #[test]
    fn the_rows_own_values_win_over_linkedins() {
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        r.linked_at = Some(now() - Duration::days(1));
        r.scope = "openid".into();
        let planned = plan(
            r,
            Some(&active(40, 20)),
            None,
            &ExpiryPolicy::default(),
            now(),
        )
        .unwrap();
        assert_eq!(planned.tokens.token_expires_at, now() + Duration::days(10));
        assert_eq!(planned.linked_at, now() - Duration::days(1));
        assert_eq!(planned.tokens.scope, "openid");
        assert_eq!(planned.expiration, now() + Duration::days(7));
    }

    #[test]
    fn without_an_expiry_or_linkedin_the_row_is_refused() {
        let refused = plan(row(), None, None, &ExpiryPolicy::default(), now())
            .err()
            .unwrap();
        assert!(refused.starts_with("token_expires_at:"), "{refused}");
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        let planned = plan(r, None, None, &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.linked_at, now());
    }

    #[test]
    fn an_old_link_is_due_at_once() {
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(5));
        r.linked_at = Some(now() - Duration::days(55));
        let planned = plan(r, None, None, &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::Active);
        assert!(planned.expiration <= now());
    }

    #[test]
    fn revoked_tokens_need_a_reconnect() {
        for status in ["revoked", "inactive"] {
            let mut r = row();
            r.refresh_token = Some(RefreshToken::new("r"));
            let dead = Introspection::Dead {
                status: status.into(),
            };
            let planned = plan(r, Some(&dead), None, &ExpiryPolicy::default(), now()).unwrap();
            assert_eq!(planned.status, AccountStatus::NeedsReconnect, "{status}");
            assert_eq!(planned.expiration, now());
            assert!(planned.last_error.unwrap().contains(status));
        }
    }

    #[test]
    fn an_expired_token_is_renewed_when_a_refresh_token_lives() {
        let expired = Introspection::Dead {
            status: "expired".into(),
        };
        let mut r = row();
        r.refresh_token = Some(RefreshToken::new("r"));
        r.refresh_token_expires_at = Some(now() + Duration::days(100));
        let planned = plan(r, Some(&expired), None, &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::Active);
        assert!(planned.expiration <= now());

        let planned = plan(row(), Some(&expired), None, &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::NeedsReconnect);

        let mut r = row();
        r.token_expires_at = Some(now() - Duration::days(1));
        r.refresh_token = Some(RefreshToken::new("r"));
        r.refresh_token_expires_at = Some(now() - Duration::days(1));
        let planned = plan(r, None, None, &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::NeedsReconnect);
    }

    #[test]
    fn a_link_in_the_future_is_refused() {
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        r.linked_at = Some(now() + Duration::days(1));
        assert!(plan(r, None, None, &ExpiryPolicy::default(), now()).is_err());
    }

    #[test]
    fn userinfo_names_the_member_a_row_leaves_out() {
        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        let told = Holder::Member(MemberId::parse("m-told").unwrap());
        let planned = plan(r, None, Some(&told), &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.member_id.as_str(), "m-told");
        assert_eq!(planned.status, AccountStatus::Active);

        // The row's own member id wins.
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        let planned = plan(r, None, Some(&told), &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.member_id.as_str(), "m-1");
    }

    #[test]
    fn a_token_userinfo_refuses_is_kept_only_with_a_live_refresh_token() {
        let refused = Holder::TokenRefused;
        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        let why = plan(r, None, Some(&refused), &ExpiryPolicy::default(), now())
            .err()
            .unwrap();
        assert!(why.starts_with("member_id: not given"), "{why}");

        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        r.refresh_token = Some(RefreshToken::new("r"));
        // A refresh token that ends now is no longer live.
        r.refresh_token_expires_at = Some(now());
        assert!(plan(r, None, Some(&refused), &ExpiryPolicy::default(), now()).is_err());

        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        r.refresh_token = Some(RefreshToken::new("r"));
        let planned = plan(r, None, Some(&refused), &ExpiryPolicy::default(), now()).unwrap();
        assert_eq!(planned.member_id, AccountMember::NotKnownYet);
        assert_eq!(planned.status, AccountStatus::NeedsReconnect);
        assert_eq!(planned.expiration, now());
        assert_eq!(planned.tokens.token_expires_at, now());
        assert!(planned.last_error.unwrap().contains("no member_id"));
    }

    #[test]
    fn without_linkedin_a_member_id_is_required() {
        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        let why = plan(r, None, None, &ExpiryPolicy::default(), now())
            .err()
            .unwrap();
        assert!(why.starts_with("member_id: required"), "{why}");
    }
}
