//! From a valid row (and what its provider said about its token, when asked) to the account
//! to store: its dates, its status, its `expiration`. Pure: the same row always plans the same.

use super::lookups::Holder;
use super::row::ValidRow;
use crate::domain::{AccountMember, ExpiryPolicy, ImportedAccount, TokenSet};
use crate::provider::Introspection;
use chrono::{DateTime, Utc};

/// What a plan takes from the row's provider.
pub struct RowProvider<'a> {
    /// The network as people write it ("LinkedIn", "X"), for the row's messages.
    pub network: &'a str,
    /// Whether it tells a token's expiry (introspection). Where it cannot, userinfo tells
    /// only whether it still takes the token.
    pub introspects: bool,
    pub policy: ExpiryPolicy,
}

/// Whether the row's token must be introspected: only when the file leaves its expiry out,
/// and the provider can tell it.
pub fn needs_introspection(row: &ValidRow, provider: &RowProvider) -> bool {
    row.token_expires_at.is_none() && provider.introspects
}

/// Whether userinfo must be asked: when the file leaves the member out (whose the token is),
/// or the expiry where the provider cannot introspect (whether the token still works).
pub fn needs_holder(row: &ValidRow, provider: &RowProvider) -> bool {
    row.member_id.is_none() || (row.token_expires_at.is_none() && !provider.introspects)
}

/// The account a row becomes. `seen` is introspection's answer and `holder` userinfo's, when
/// they were asked.
///
/// - `token_expires_at`: the row's, else the provider's (introspection's). A provider that
///   cannot introspect tells only, through userinfo, that the token works now: it counts as
///   ending now, so the first read renews it with its refresh token (and a sweep, where the
///   provider's policy keeps the access token alive); without a live refresh token the row is
///   refused (nothing could renew it in time). A row without an expiry whose
///   provider was not asked is refused (the sweep could not know when it is due).
/// - `linked_at`: the row's, else when the provider says the member authorized the app, else
///   now.
/// - A token the provider reports revoked (or not this app's) needs its member to reconnect. An
///   expired one too, unless a live refresh token can renew it: then it is active and due.
/// - `member_id`: the row's, else userinfo's. A token userinfo refuses cannot say whose it
///   is: with a live refresh token the account is kept, needing its member, whose connection
///   will tell; without one there is nothing to keep and the row is refused. Either way the
///   token counts as ended now.
pub fn plan(
    row: ValidRow,
    seen: Option<&Introspection>,
    holder: Option<&Holder>,
    provider: &RowProvider,
    now: DateTime<Utc>,
) -> Result<ImportedAccount, String> {
    let network = provider.network;
    // Userinfo speaks for a provider that cannot introspect: it took the token, or not.
    let told_by_userinfo = row.token_expires_at.is_none() && !provider.introspects;
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
        // It works now (or is dead now): for how long, nobody can say.
        (None, None, None) if told_by_userinfo && holder.is_some() => now,
        (None, None, None) => {
            return Err(format!(
                "token_expires_at: required when {network} is not asked (--no-introspect)"
            ))
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
    if told_by_userinfo && !refused && !refreshable {
        return Err(format!(
            "token_expires_at: not given, and {network} cannot tell when an access token ends (only that this one works now); with no live refresh token to renew it in time, give token_expires_at"
        ));
    }
    let member = match (row.member_id, holder) {
        (Some(id), _) => AccountMember::Known(id),
        (None, Some(Holder::Member(id))) => AccountMember::Known(id.clone()),
        (None, Some(Holder::TokenRefused)) if refreshable => AccountMember::NotKnownYet,
        (None, Some(Holder::TokenRefused)) => return Err(format!(
            "member_id: not given, and {network} refuses the access token (userinfo answered 401), so it cannot tell whose it is; with no live refresh token there is nothing to keep: send the member a connect link"
        )),
        (None, None) => {
            return Err(format!(
                "member_id: required when {network} is not asked (--no-introspect)"
            ))
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
        &provider.policy,
    )
    .through(row.provider);
    let reason = match dead {
        _ if account.member_id == AccountMember::NotKnownYet => {
            format!("imported: {network} refuses the access token and the row gives no member_id; the member's next connection tells who it is")
        }
        Some("expired") | None if token_expires_at > now || refreshable => return Ok(account),
        Some(status @ ("revoked" | "inactive")) => {
            format!("imported: {network} reports the access token {status}")
        }
        None if refused => format!(
            "imported: {network} refuses the access token (userinfo answered 401) and no live refresh token can renew it"
        ),
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

    fn linkedin() -> RowProvider<'static> {
        RowProvider {
            network: "LinkedIn",
            introspects: true,
            policy: ExpiryPolicy::default(),
        }
    }

    /// A provider that cannot introspect, as X.
    fn x() -> RowProvider<'static> {
        RowProvider {
            network: "X",
            introspects: false,
            policy: ExpiryPolicy::default(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn row() -> ValidRow {
        ValidRow {
            user_id: UserId::parse("u-1").unwrap(),
            provider: crate::domain::ProviderName::linkedin(),
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
        let planned = plan(row(), Some(&active(40, 20)), None, &linkedin(), now()).unwrap();
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
        let planned = plan(r, Some(&active(40, 20)), None, &linkedin(), now()).unwrap();
        assert_eq!(planned.tokens.token_expires_at, now() + Duration::days(10));
        assert_eq!(planned.linked_at, now() - Duration::days(1));
        assert_eq!(planned.tokens.scope, "openid");
        assert_eq!(planned.expiration, now() + Duration::days(7));
    }

    #[test]
    fn without_an_expiry_or_linkedin_the_row_is_refused() {
        let refused = plan(row(), None, None, &linkedin(), now()).err().unwrap();
        assert!(refused.starts_with("token_expires_at:"), "{refused}");
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        let planned = plan(r, None, None, &linkedin(), now()).unwrap();
        assert_eq!(planned.linked_at, now());
    }

    #[test]
    fn an_old_link_is_due_at_once() {
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(5));
        r.linked_at = Some(now() - Duration::days(55));
        let planned = plan(r, None, None, &linkedin(), now()).unwrap();
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
            let planned = plan(r, Some(&dead), None, &linkedin(), now()).unwrap();
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
        let planned = plan(r, Some(&expired), None, &linkedin(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::Active);
        assert!(planned.expiration <= now());

        let planned = plan(row(), Some(&expired), None, &linkedin(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::NeedsReconnect);

        let mut r = row();
        r.token_expires_at = Some(now() - Duration::days(1));
        r.refresh_token = Some(RefreshToken::new("r"));
        r.refresh_token_expires_at = Some(now() - Duration::days(1));
        let planned = plan(r, None, None, &linkedin(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::NeedsReconnect);
    }

    #[test]
    fn a_link_in_the_future_is_refused() {
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        r.linked_at = Some(now() + Duration::days(1));
        assert!(plan(r, None, None, &linkedin(), now()).is_err());
    }

    #[test]
    fn userinfo_names_the_member_a_row_leaves_out() {
        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        let told = Holder::Member(MemberId::parse("m-told").unwrap());
        let planned = plan(r, None, Some(&told), &linkedin(), now()).unwrap();
        assert_eq!(planned.member_id.as_str(), "m-told");
        assert_eq!(planned.status, AccountStatus::Active);

        // The row's own member id wins.
        let mut r = row();
        r.token_expires_at = Some(now() + Duration::days(10));
        let planned = plan(r, None, Some(&told), &linkedin(), now()).unwrap();
        assert_eq!(planned.member_id.as_str(), "m-1");
    }

    #[test]
    fn a_token_userinfo_refuses_is_kept_only_with_a_live_refresh_token() {
        let refused = Holder::TokenRefused;
        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        let why = plan(r, None, Some(&refused), &linkedin(), now())
            .err()
            .unwrap();
        assert!(why.starts_with("member_id: not given"), "{why}");

        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        r.refresh_token = Some(RefreshToken::new("r"));
        // A refresh token that ends now is no longer live.
        r.refresh_token_expires_at = Some(now());
        assert!(plan(r, None, Some(&refused), &linkedin(), now()).is_err());

        let mut r = row();
        r.member_id = None;
        r.token_expires_at = Some(now() + Duration::days(10));
        r.refresh_token = Some(RefreshToken::new("r"));
        let planned = plan(r, None, Some(&refused), &linkedin(), now()).unwrap();
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
        let why = plan(r, None, None, &linkedin(), now()).err().unwrap();
        assert!(why.starts_with("member_id: required"), "{why}");
    }

    #[test]
    fn where_the_provider_cannot_introspect_userinfo_asks_for_an_unknown_expiry() {
        let mut r = row();
        assert!(!needs_introspection(&r, &x()) && needs_holder(&r, &x()));
        assert!(needs_introspection(&r, &linkedin()) && !needs_holder(&r, &linkedin()));
        r.token_expires_at = Some(now());
        assert!(!needs_holder(&r, &x()));
    }

    #[test]
    fn a_token_userinfo_takes_ends_now_and_is_kept_only_with_a_live_refresh_token() {
        let alive = Holder::Member(MemberId::parse("x-member").unwrap());
        let mut r = row();
        r.refresh_token = Some(RefreshToken::new("r"));
        let planned = plan(r, None, Some(&alive), &x(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::Active);
        assert_eq!(planned.tokens.token_expires_at, now());
        assert!(
            planned.expiration <= now(),
            "due at once under an access-token policy"
        );
        assert_eq!(planned.member_id.as_str(), "m-1", "the row's member wins");

        let why = plan(row(), None, Some(&alive), &x(), now()).err().unwrap();
        assert!(
            why.starts_with("token_expires_at: not given, and X cannot tell"),
            "{why}"
        );
    }

    #[test]
    fn a_token_userinfo_refuses_needs_its_member_unless_a_refresh_token_lives() {
        let planned = plan(row(), None, Some(&Holder::TokenRefused), &x(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::NeedsReconnect);
        assert!(planned
            .last_error
            .unwrap()
            .contains("X refuses the access token"));

        let mut r = row();
        r.refresh_token = Some(RefreshToken::new("r"));
        let planned = plan(r, None, Some(&Holder::TokenRefused), &x(), now()).unwrap();
        assert_eq!(planned.status, AccountStatus::Active);
        assert_eq!(planned.expiration, now());
    }

    #[test]
    fn messages_name_the_rows_provider_and_the_account_is_its() {
        let mut r = row();
        r.provider = crate::domain::ProviderName::parse("x").unwrap();
        r.member_id = None;
        let why = plan(r, None, None, &x(), now()).err().unwrap();
        assert_eq!(
            why,
            "token_expires_at: required when X is not asked (--no-introspect)"
        );
        let mut r = row();
        r.provider = crate::domain::ProviderName::parse("x").unwrap();
        r.token_expires_at = Some(now() + Duration::hours(1));
        let planned = plan(r, None, None, &x(), now()).unwrap();
        assert_eq!(planned.provider.as_str(), "x");
    }
}
