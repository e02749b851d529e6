use super::{
    AccessToken, EmailAddress, ExpiryPolicy, InvalidInput, MemberId, RefreshToken, UserId,
};
use chrono::{DateTime, Utc};
use std::fmt;

/// The social network an account belongs to. Only LinkedIn today; the column exists so a host
/// app's existing `social_network` table keeps its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    LinkedIn,
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::LinkedIn => "linkedin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "linkedin" => Ok(Network::LinkedIn),
            other => Err(InvalidInput(format!("unknown network {other:?}"))),
        }
    }
}

/// Where an account stands. See DESIGN.md for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl AccountStatus {
    pub const ALL: [AccountStatus; 4] = [
        AccountStatus::Active,
        AccountStatus::RefreshFailing,
        AccountStatus::NeedsReconnect,
        AccountStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::RefreshFailing => "refresh_failing",
            AccountStatus::NeedsReconnect => "needs_reconnect",
            AccountStatus::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| InvalidInput(format!("unknown account status {raw:?}")))
    }

    /// Whether the sweep should try to refresh an account in this state.
    pub fn allows_refresh(self) -> bool {
        matches!(self, AccountStatus::Active | AccountStatus::RefreshFailing)
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
            user_id,
            member_id,
            email,
            name,
            tokens,
            linked_at,
            expiration,
        }
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
    pub network: Network,
    pub member_id: MemberId,
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
