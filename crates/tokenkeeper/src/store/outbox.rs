//! The outbox: notifications written with the state changes that cause them, delivered later
//! by a worker that claims them under a lease, so several workers never send one twice. Each
//! claim has an owner; the outcome of a send is written only by the claim's owner, and only
//! while the row is still pending.

use super::{Lease, StoreError};
use crate::domain::{Account, NewNotification, NotificationKind, NotificationStatus};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A notification ready to send, with what the email needs to know about its account.
#[derive(Debug, Clone)]
pub struct PendingEmail {
    pub id: i64,
    pub kind: NotificationKind,
    pub dedupe_key: String,
    pub deadline: DateTime<Utc>,
    pub attempts: i32,
    pub account: Account,
}

/// A claimed outbox row. One of a kind this version does not know (written by a newer one,
/// say) is handed over all the same, so that the worker gives it up and counts it: it costs
/// only itself, never the batch.
#[derive(Debug, Clone)]
pub enum ClaimedNotification {
    Email(Box<PendingEmail>),
    UnknownKind { id: i64, account_id: i64 },
}

impl ClaimedNotification {
    pub fn id(&self) -> i64 {
        match self {
            ClaimedNotification::Email(email) => email.id,
            ClaimedNotification::UnknownKind { id, .. } => *id,
        }
    }

    pub fn account_id(&self) -> i64 {
        match self {
            ClaimedNotification::Email(email) => email.account.id,
            ClaimedNotification::UnknownKind { account_id, .. } => *account_id,
        }
    }
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` notifications that are due at `lease.now` (`send_after` and
    /// `next_attempt_at` passed) and not under a live claim, for `lease.holder` until
    /// `lease.until`. The holder should be new for each claim: it is what every later write
    /// to these rows must present.
    async fn claim_notifications(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<ClaimedNotification>, StoreError>;

    /// Extends the claim on one row to `lease.until`, if `lease.holder` still holds it and the
    /// row is still pending. `false` means the claim was taken over or the row was cancelled
    /// (a reconnect ended its episode): the email must not be sent.
    async fn renew_notification_claim(&self, id: i64, lease: &Lease) -> Result<bool, StoreError>;

    /// Marks a row sent. Like every mark below, it applies only while `holder` holds the claim
    /// and the row is pending, and says whether it applied: a cancellation, or a takeover
    /// after the claim expired, wins over a worker that was still busy with the row.
    async fn mark_sent(
        &self,
        id: i64,
        holder: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a failed attempt; the row is tried again at `next_attempt_at`.
    async fn mark_retry(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives up on a row (out of attempts, or obsolete): it stays, marked `status`, for the
    /// operator.
    async fn mark_failed(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        status: NotificationStatus,
    ) -> Result<bool, StoreError>;

    /// Writes notifications outside a state change (reminders planned ahead); duplicates of
    /// an existing dedupe key are ignored. Returns how many were new.
    async fn add_notifications(
        &self,
        notifications: &[NewNotification],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Refreshable accounts whose refresh token ends within `(now, until]`, after `after_id`.
    async fn refresh_tokens_ending(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError>;
}
