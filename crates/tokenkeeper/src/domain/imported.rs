use super::{
    Account, AccountMember, AccountStatus, EmailAddress, ExpiryPolicy, ProviderName, TokenSet,
    UserId,
};
use chrono::{DateTime, Utc};

/// An account brought in from the host app's own records, ready to be stored. Built only
/// through [`ImportedAccount::active`] or [`ImportedAccount::needs_reconnect`], so its status
/// and `expiration` always follow from the same rules as a new link's.
#[derive(Debug, Clone)]
pub struct ImportedAccount {
    pub user_id: UserId,
    /// Whose tokens these are: the account is the user's one at this provider.
    pub provider: ProviderName,
    pub member_id: AccountMember,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub tokens: TokenSet,
    pub linked_at: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    pub status: AccountStatus,
    /// Why the account needs its member, for `needs_reconnect`.
    pub last_error: Option<String>,
}

/// What an import does to one account, decided from what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportDecision {
    /// No account for this user at this provider yet.
    Create,
    /// The stored account's tokens are older: replaced, under this version.
    Replace { version: i64 },
    /// The same tokens are already stored: nothing is written.
    Unchanged,
    /// The stored tokens are newer than the row's: they are kept.
    NewerKept,
}

impl ImportedAccount {
    /// Tokens that still work, or that a refresh can renew: `expiration` as for a new link
    /// made at `linked_at`. An account linked more than `refresh_after` ago is thus already
    /// due, and the next sweep takes it.
    #[allow(clippy::too_many_arguments)]
    pub fn active(
        user_id: UserId,
        member_id: AccountMember,
        email: EmailAddress,
        name: Option<String>,
        tokens: TokenSet,
        linked_at: DateTime<Utc>,
        policy: &ExpiryPolicy,
    ) -> Self {
        let expiration = policy.next_refresh_due(
            linked_at,
            tokens.token_expires_at,
            tokens.refresh_token_expires_at,
        );
        Self {
            user_id,
            provider: ProviderName::linkedin(),
            member_id,
            email,
            name,
            tokens,
            linked_at,
            expiration,
            status: AccountStatus::Active,
            last_error: None,
        }
    }

    /// The same account, at another provider than LinkedIn (whose policy `active` was given).
    pub fn through(mut self, provider: ProviderName) -> Self {
        self.provider = provider;
        self
    }

    /// Tokens nobody can use any more: the member must connect again, and is told so as the
    /// sweep tells the members whose refresh failed for good.
    pub fn needs_reconnect(mut self, now: DateTime<Utc>, reason: String) -> Self {
        self.status = AccountStatus::NeedsReconnect;
        self.expiration = now;
        self.last_error = Some(reason);
        self
    }

    /// "Newer" is about when the tokens were obtained: a stored account's tokens date from
    /// its last refresh, or from its link when never refreshed; the row's from its
    /// `linked_at`. Only a row strictly newer replaces what is stored; the same tokens
    /// (access and refresh token alike) are left as they are, whatever the dates say, so
    /// importing one file twice writes nothing the second time.
    pub fn decide(&self, stored: Option<&Account>) -> ImportDecision {
        let Some(stored) = stored else {
            return ImportDecision::Create;
        };
        debug_assert_eq!(stored.provider, self.provider, "compared across providers");
        if stored.token == self.tokens.access_token
            && stored.refresh_token == self.tokens.refresh_token
        {
            return ImportDecision::Unchanged;
        }
        let stored_since = stored.last_refreshed_at.unwrap_or(stored.linked_at);
        if self.linked_at > stored_since {
            ImportDecision::Replace {
                version: stored.version,
            }
        } else {
            ImportDecision::NewerKept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccessToken, ProviderName, RefreshToken};
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 10, 9, 30, 0).unwrap()
    }

    fn tokens(access: &str) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new(access),
            token_expires_at: t0() + Duration::days(60),
            refresh_token: Some(RefreshToken::new("r")),
            refresh_token_expires_at: Some(t0() + Duration::days(365)),
            scope: String::new(),
        }
    }

    fn row(access: &str, linked_at: DateTime<Utc>) -> ImportedAccount {
        ImportedAccount::active(
            UserId::parse("u-1").unwrap(),
            crate::domain::MemberId::parse("m-1").unwrap().into(),
            EmailAddress::parse("ada@example.com").unwrap(),
            None,
            tokens(access),
            linked_at,
            &ExpiryPolicy::default(),
        )
    }

    fn stored(access: &str, linked_at: DateTime<Utc>, refreshed: Option<DateTime<Utc>>) -> Account {
        let r = row(access, linked_at);
        Account {
            id: 7,
            user_id: r.user_id,
            provider: ProviderName::linkedin(),
            member_id: r.member_id,
            email: r.email,
            name: None,
            token: r.tokens.access_token,
            token_expires_at: r.tokens.token_expires_at,
            refresh_token: r.tokens.refresh_token,
            refresh_token_expires_at: r.tokens.refresh_token_expires_at,
            scope: String::new(),
            expiration: r.expiration,
            status: AccountStatus::Active,
            linked_at,
            last_refreshed_at: refreshed,
            refresh_attempts: 0,
            last_error: None,
            created_at: linked_at,
            updated_at: linked_at,
            version: 3,
        }
    }

    #[test]
    fn expiration_follows_the_policy_from_the_link_so_old_links_are_due() {
        assert_eq!(row("a", t0()).expiration, t0() + Duration::days(50));
        let old = row("a", t0() - Duration::days(55));
        assert_eq!(old.expiration, t0() - Duration::days(5));
        let dead = row("a", t0()).needs_reconnect(t0(), "revoked".into());
        assert_eq!(dead.status, AccountStatus::NeedsReconnect);
        assert_eq!(dead.expiration, t0());
        assert_eq!(dead.last_error.as_deref(), Some("revoked"));
    }

    #[test]
    fn only_strictly_newer_tokens_replace_stored_ones() {
        let day = Duration::days(1);
        assert_eq!(row("b", t0()).decide(None), ImportDecision::Create);
        assert_eq!(
            row("b", t0() + day).decide(Some(&stored("a", t0(), None))),
            ImportDecision::Replace { version: 3 }
        );
        assert_eq!(
            row("b", t0()).decide(Some(&stored("a", t0(), None))),
            ImportDecision::NewerKept
        );
        // A refresh after the link makes the stored tokens newer than the link date says.
        assert_eq!(
            row("b", t0() + day).decide(Some(&stored("a", t0(), Some(t0() + day * 2)))),
            ImportDecision::NewerKept
        );
    }

    #[test]
    fn the_same_tokens_are_unchanged_whatever_the_dates() {
        assert_eq!(
            row("a", t0() + Duration::days(9)).decide(Some(&stored("a", t0(), None))),
            ImportDecision::Unchanged
        );
        let mut other_refresh = stored("a", t0(), None);
        other_refresh.refresh_token = Some(RefreshToken::new("r-older"));
        assert_eq!(
            row("a", t0() + Duration::days(1)).decide(Some(&other_refresh)),
            ImportDecision::Replace { version: 3 }
        );
    }
}
