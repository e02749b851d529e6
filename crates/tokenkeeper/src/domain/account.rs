use super::EnumText;
use super::{
    AccessToken, AccountMember, EmailAddress, ExpiryPolicy, MemberId, ProviderName, RefreshToken,
    UserId,
};
use chrono::{DateTime, Utc};
use strum::{Display, IntoStaticStr, VariantArray};

/// Where an account stands. See DESIGN.md for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, VariantArray, Display)]
#[strum(serialize_all = "snake_case")]
pub enum AccountStatus {
    /// Tokens are good and the sweep will refresh them when `expiration` comes.
    Active,
    /// The last refresh failed for a reason that may pass (network, 5xx, 429).
    RefreshFailing,
    /// Only the member can fix this by connecting again; a reconnect email is on its way.
    NeedsReconnect,
    /// The access token has died without a reconnect.
    Expired,
}

impl EnumText for AccountStatus {
    const WHAT: &'static str = "account status";
}

impl AccountStatus {
    /// Whether the sweep should try to refresh an account in this state.
    pub fn allows_refresh(self) -> bool {
        matches!(self, AccountStatus::Active | AccountStatus::RefreshFailing)
    }
}

/// What LinkedIn handed us in one token response, with its relative lifetimes already turned
/// into instants (LinkedIn's documented numbers disagree; we only trust what it returns).
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub token_expires_at: DateTime<Utc>,
    pub refresh_token: Option<RefreshToken>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Granted scopes, normalised to space-separated.
    pub scope: String,
}

/// An account as the connect flow produced it, ready to be stored. It can only be built
/// through [`LinkedAccount::new`], which computes `expiration`: there is no way to store an
/// account without knowing when it must next be refreshed.
#[derive(Debug, Clone)]
pub struct LinkedAccount {
    provider: ProviderName,
    user_id: UserId,
    member_id: MemberId,
    email: EmailAddress,
    name: Option<String>,
    tokens: TokenSet,
    linked_at: DateTime<Utc>,
    expiration: DateTime<Utc>,
}

impl LinkedAccount {
    pub fn new(
        user_id: UserId,
        member_id: MemberId,
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
            provider: ProviderName::linkedin(),
            user_id,
            member_id,
            email,
            name,
            tokens,
            linked_at,
            expiration,
        }
    }

    /// The same account, through another provider than LinkedIn (whose policy `new` was
    /// given).
    pub fn through(mut self, provider: ProviderName) -> Self {
        self.provider = provider;
        self
    }

    pub fn provider(&self) -> &ProviderName {
        &self.provider
    }

    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }
    pub fn member_id(&self) -> &MemberId {
        &self.member_id
    }
    pub fn email(&self) -> &EmailAddress {
        &self.email
    }
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }
    pub fn linked_at(&self) -> DateTime<Utc> {
        self.linked_at
    }
    pub fn expiration(&self) -> DateTime<Utc> {
        self.expiration
    }
}

/// A stored account: one row of `social_network`.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub user_id: UserId,
    /// The configured provider the account belongs to (the `network` column).
    pub provider: ProviderName,
    pub member_id: AccountMember,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub token: AccessToken,
    pub token_expires_at: DateTime<Utc>,
    pub refresh_token: Option<RefreshToken>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: String,
    /// When the next refresh is due. Never absent.
    pub expiration: DateTime<Utc>,
    pub status: AccountStatus,
    pub linked_at: DateTime<Utc>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub refresh_attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every write; writers that read an older version lose.
    pub version: i64,
}

impl Account {
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn names_are_what_the_database_stores() {
        let stored = AccountStatus::ALL
            .iter()
            .copied()
            .map(|s| s.to_string())
            .collect::<Vec<_>>();
        assert_eq!(
            stored,
            ["active", "refresh_failing", "needs_reconnect", "expired"]
        );
        for &status in AccountStatus::ALL {
            assert_eq!(AccountStatus::parse(status.as_str()), Ok(status));
        }
        assert!(AccountStatus::parse("Active").is_err());
    }

    #[test]
    fn only_active_and_failing_accounts_are_refreshed() {
        let refreshed = AccountStatus::ALL
            .iter()
            .copied()
            .map(AccountStatus::allows_refresh)
            .collect::<Vec<_>>();
        assert_eq!(refreshed, [true, true, false, false]);
    }

    #[test]
    fn a_linked_account_is_due_when_its_policy_says() {
        let at = Utc.with_ymd_and_hms(2026, 1, 10, 9, 30, 0).unwrap();
        let tokens = TokenSet {
            access_token: AccessToken::new("a"),
            token_expires_at: at + Duration::days(60),
            refresh_token: None,
            refresh_token_expires_at: None,
            scope: "openid".into(),
        };
        let linked = LinkedAccount::new(
            UserId::parse("u-1").unwrap(),
            MemberId::parse("m-1").unwrap(),
            EmailAddress::parse("ada@example.com").unwrap(),
            Some("Ada".into()),
            tokens,
            at,
            &ExpiryPolicy::default(),
        );
        assert_eq!(linked.linked_at(), at);
        assert_eq!(linked.expiration(), at + Duration::days(50));
        assert_eq!(linked.name(), Some("Ada"));
        assert_eq!(linked.user_id().as_str(), "u-1");
        assert_eq!(linked.member_id().as_str(), "m-1");
        assert_eq!(linked.email().as_str(), "ada@example.com");
        assert_eq!(linked.tokens().access_token.expose(), "a");
    }

    #[test]
    fn an_account_has_a_refresh_token_only_when_one_is_stored() {
        let at = Utc.with_ymd_and_hms(2026, 1, 10, 9, 30, 0).unwrap();
        let mut account = Account {
            id: 1,
            user_id: UserId::parse("u-1").unwrap(),
            provider: ProviderName::linkedin(),
            member_id: MemberId::parse("m-1").unwrap().into(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            name: None,
            token: AccessToken::new("a"),
            token_expires_at: at,
            refresh_token: None,
            refresh_token_expires_at: None,
            scope: String::new(),
            expiration: at,
            status: AccountStatus::Active,
            linked_at: at,
            last_refreshed_at: None,
            refresh_attempts: 0,
            last_error: None,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        assert!(!account.has_refresh_token());
        account.refresh_token = Some(RefreshToken::new("r"));
        assert!(account.has_refresh_token());
    }
}
