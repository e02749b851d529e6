//! Storage of the connect flow: open sign-in attempts, the links that have completed one, and
//! the write that links an account, which decides in its own transaction whether the link may
//! still be used and whether the account may change its LinkedIn member.

use super::StoreError;
use crate::domain::{Account, EmailAddress, LinkedAccount, PkceVerifier, ProviderName, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One pass through LinkedIn's authorize page, from the connect link to the callback. Its
/// secrets (the `state` LinkedIn echoes back, the browser's nonce) are only stored hashed: a
/// copy of the database cannot be used to complete somebody else's attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAttempt {
    pub state_hash: String,
    /// Only the browser whose cookie hashes to this may finish the attempt.
    pub browser_hash: String,
    /// The link the attempt came from, recorded as used when the attempt succeeds.
    pub link: LinkUse,
    /// The provider the attempt goes through (`/connect/{provider}`).
    pub provider: ProviderName,
    /// The PKCE verifier of a provider that takes one, for the code exchange.
    pub pkce_verifier: Option<PkceVerifier>,
    pub user_id: UserId,
    pub email: EmailAddress,
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A connect link as the write that completes it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkUse {
    /// The SHA-256 of the link's signature: one value per issued link.
    pub link_hash: String,
    /// The link's own expiry: its used-mark is kept until then, and no longer needed after.
    pub expires_at: DateTime<Utc>,
    /// The link's issuer allowed replacing the account's LinkedIn member.
    pub allow_member_change: bool,
}

/// What the callback's state and cookie found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptLookup {
    /// The attempt, now removed: a state completes at most once.
    Taken(ConnectAttempt),
    /// The attempt is open but was started in another browser. It is left as it was, so
    /// whoever holds its state cannot use it up for the browser that started it. Carries
    /// the attempt's user, for the log.
    OtherBrowser(UserId),
    /// No open attempt has this state (never issued, expired or already used).
    Unknown,
}

/// The outcome of the write that completes a connection.
#[derive(Debug)]
pub enum ConnectOutcome {
    Linked(Box<Account>),
    /// The link already completed a connection; nothing was written.
    LinkAlreadyUsed,
    /// The account is linked to another LinkedIn member and the link does not allow a change;
    /// nothing was written, and the link stays usable.
    MemberChanged,
}

/// Rows removed by one purge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub attempts: u64,
    pub used_links: u64,
}

#[async_trait]
pub trait ConnectStore: Send + Sync {
    /// Opens an attempt and, in the same transaction, records on the emails already sent to
    /// its user in the current episode that a link was opened after them (the success
    /// report's funnel).
    async fn save_connect_attempt(&self, attempt: &ConnectAttempt) -> Result<(), StoreError>;

    /// Takes the unexpired attempt with this state if `browser_hash` is the one that started
    /// it; an attempt of another browser is reported and left in place.
    async fn take_connect_attempt(
        &self,
        state_hash: &str,
        browser_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AttemptLookup, StoreError>;

    async fn count_connect_attempts(&self) -> Result<i64, StoreError>;

    /// Whether this link has already completed a connection.
    async fn connect_link_used(&self, link_hash: &str) -> Result<bool, StoreError>;

    /// Links the account through `link`, in one transaction: marks the link used (a link
    /// already marked, even by a transaction racing this one, refuses), and replaces an
    /// existing account's tokens only if its LinkedIn member is the same or the link allows a
    /// change. Like `save_linked_account`, it ends a reconnect episode.
    async fn complete_connect(
        &self,
        account: &LinkedAccount,
        link: &LinkUse,
        now: DateTime<Utc>,
    ) -> Result<ConnectOutcome, StoreError>;

    /// Deletes attempts and used-link marks that expired before `now`, through their expiry
    /// indexes, in bounded batches.
    async fn purge_expired_connect_state(&self, now: DateTime<Utc>) -> Result<Purged, StoreError>;
}

#[derive(sqlx::FromRow)]
pub(super) struct ConnectAttemptRow {
    state_hash: String,
    browser_hash: String,
    link_hash: String,
    link_expires_at: DateTime<Utc>,
    allow_member_change: bool,
    network: String,
    pkce_verifier: Option<String>,
    user_id: super::exact_text::ExactText,
    email: String,
    return_to: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TryFrom<ConnectAttemptRow> for ConnectAttempt {
    type Error = StoreError;

    fn try_from(row: ConnectAttemptRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "connect_attempts",
            id: 0,
            reason,
        };
        Ok(ConnectAttempt {
            user_id: UserId::parse(&row.user_id.0).map_err(|e| corrupt(e.0))?,
            provider: ProviderName::parse(&row.network).map_err(|e| corrupt(e.0))?,
            pkce_verifier: row.pkce_verifier.map(PkceVerifier::new),
            email: EmailAddress::parse(&row.email).map_err(|e| corrupt(e.0))?,
            state_hash: row.state_hash,
            browser_hash: row.browser_hash,
            link: LinkUse {
                link_hash: row.link_hash,
                expires_at: row.link_expires_at,
                allow_member_change: row.allow_member_change,
            },
            return_to: row.return_to,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}
