//! What the refresh engine needs from storage: claiming due accounts under a lease, writing
//! outcomes back under a version check (with their outbox rows, in one transaction), and the
//! audit trail.

use super::StoreError;
use crate::domain::EnumText;
use crate::domain::{
    Account, AccountStatus, NewNotification, ProviderName, RefreshOutcome, TokenSet,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A claim on due accounts: who holds it and until when (on the wall clock, whatever "now"
/// the sweep plans with, so a crashed process's claims expire in real time).
#[derive(Debug, Clone)]
pub struct Lease {
    pub holder: String,
    pub now: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// What one claim took: the accounts to refresh, oldest due first, and the rows it claimed
/// that do not read as accounts: tokens that do not open (plaintext where it is refused
/// included), or values the domain refuses. Each error names its row, never a value. Those are
/// not refreshed: their claim lapses with its lease, so the same sweep does not take them
/// again.
#[derive(Debug, Default)]
pub struct ClaimedBatch {
    pub accounts: Vec<Account>,
    pub unreadable: Vec<StoreError>,
}

impl ClaimedBatch {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.unreadable.is_empty()
    }
}

/// The result of one account's refresh, as it must be written back.
#[derive(Debug, Clone)]
pub enum RefreshWrite {
    /// New tokens: status back to active, attempts reset, a new `expiration`.
    Refreshed {
        tokens: TokenSet,
        expiration: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// A passing failure: status refresh_failing, attempts + 1, `expiration` unchanged so the
    /// next slot tries again.
    Failing {
        error: String,
        at: DateTime<Utc>,
        notifications: Vec<NewNotification>,
    },
    /// Only the member can fix it: status needs_reconnect.
    NeedsReconnect {
        error: String,
        at: DateTime<Utc>,
        notifications: Vec<NewNotification>,
    },
    /// The network will renew only later (Instagram and Threads renew tokens a day old): the
    /// account is due again at `until`, nothing else changes, and the claim is dropped.
    Postponed {
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Nothing happened to the account (the sweep stopped early): only the claim is dropped.
    Release,
}

impl RefreshWrite {
    /// The account's status once this is written; `None` when it is left as it was.
    pub fn account_status(&self) -> Option<AccountStatus> {
        match self {
            RefreshWrite::Refreshed { .. } => Some(AccountStatus::Active),
            RefreshWrite::Failing { .. } => Some(AccountStatus::RefreshFailing),
            RefreshWrite::NeedsReconnect { .. } => Some(AccountStatus::NeedsReconnect),
            RefreshWrite::Postponed { .. } | RefreshWrite::Release => None,
        }
    }

    /// How the result is counted and labelled (`tokenkeeper_refresh_results_total{result}`).
    pub fn result(&self) -> &'static str {
        if let RefreshWrite::Postponed { .. } = self {
            return "postponed";
        }
        self.account_status()
            .map_or("skipped", |status| match status {
                AccountStatus::Active => "refreshed",
                other => other.as_str(),
            })
    }
}

/// One row of the append-only `refresh_log`: one attempt at LinkedIn's token endpoint, or one
/// decision taken without calling it (no refresh token).
#[derive(Debug, Clone)]
pub struct RefreshLogEntry {
    pub account_id: i64,
    pub run_id: Option<i64>,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: RefreshOutcome,
    pub http_status: Option<i32>,
    pub error_code: Option<String>,
    pub attempt: i32,
}

#[async_trait]
pub trait RefreshStore: RefreshLogStore {
    /// Claims up to `limit` accounts due at `due_at` (`expiration <= due_at`, status active or
    /// refresh_failing, not under someone else's live lease), oldest `expiration` first.
    /// Claiming bumps `version`: the returned accounts carry the claimed version, which the
    /// write-back must present.
    async fn claim_due(
        &self,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
    ) -> Result<ClaimedBatch, StoreError> {
        self.claim_due_except(due_at, lease, limit, &[]).await
    }

    /// `claim_due`, leaving the accounts of the networks in `left_out` where they are: a
    /// sweep claims no more accounts of a provider whose part of it has stopped (down,
    /// throttling, or refusing our client) while it goes on with the others.
    async fn claim_due_except(
        &self,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
        left_out: &[ProviderName],
    ) -> Result<ClaimedBatch, StoreError>;

    /// The accounts `claim_due` would take, without claiming: for `--dry-run`. Pages by
    /// (`expiration`, `id`) after `after`.
    async fn list_due(
        &self,
        due_at: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError>;

    /// Writes an outcome if the account is still at the version it was claimed at (`claimed`
    /// as `claim_due` returned it); `false` means another process took the account over and
    /// the outcome was discarded. The audit entries are written either way, in the same
    /// transaction (one round trip per account).
    async fn complete_refresh(
        &self,
        claimed: &Account,
        write: &RefreshWrite,
        log: &[RefreshLogEntry],
    ) -> Result<bool, StoreError>;

    /// Accounts waiting for their member to reconnect that are dead by `now` become
    /// `expired`; returns how many. An account of a provider kept alive by its access token
    /// (LinkedIn, Meta) is dead once that token has ended. One of a provider in
    /// `kept_by_refresh_token` (X, Google, TikTok, standard servers: their access tokens live
    /// an hour or two) is dead only once its refresh token's known end has passed; while no
    /// end is known it waits for its member.
    async fn expire_dead_accounts(
        &self,
        now: DateTime<Utc>,
        kept_by_refresh_token: &[ProviderName],
    ) -> Result<u64, StoreError>;

    /// Deletes audit rows older than `before`; returns how many.
    async fn prune_refresh_log(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// One account's refresh log, oldest first: the sweep counts the slots in a row LinkedIn
/// refused, and the dashboard shows it on the account's page.
#[async_trait]
pub trait RefreshLogStore: Send + Sync {
    async fn refresh_log_for(&self, account_id: i64) -> Result<Vec<RefreshLogEntry>, StoreError>;
}
