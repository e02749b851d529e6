//! The outbox: notifications written with the state changes that cause them, delivered later
//! by a worker that claims them under a lease, so several workers never send one twice.

use super::StoreError;
use crate::domain::{Account, NewNotification};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A notification ready to send, with what the email needs to know about its account.
#[derive(Debug, Clone)]
pub struct PendingEmail {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub deadline: DateTime<Utc>,
    pub attempts: i32,
    pub account: Account,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` notifications that are due (`send_after` and `next_attempt_at`
    /// passed) and not claimed by a live lease.
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PendingEmail>, StoreError>;

    async fn mark_sent(
        &self,
        id: i64,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt; the row is tried again at `next_attempt_at`.
    async fn mark_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Gives up on a row (out of attempts, or obsolete): it stays, marked, for the operator.
    async fn mark_failed(&self, id: i64, error: &str, status: &str) -> Result<(), StoreError>;

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

    /// Notification counts by status, for reports and tests.
    async fn notification_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;
}
