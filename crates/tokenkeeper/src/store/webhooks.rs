//! The webhook outbox. Events are written by the store itself, in the transaction of the state
//! change they tell of (link, refresh outcome, expiry, deletion), while webhooks are on; this
//! trait is what the delivery worker and the sweep need besides: claims under a lease, the
//! claim owner's marks, and the `account.expiring` events planned ahead.

use super::{Lease, StoreError};
use crate::domain::WebhookEvent;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::domain::WebhookEvents;

/// Where an event stands in delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up after the last attempt; kept for the operator.
    Failed,
}

impl crate::domain::EnumText for DeliveryStatus {
    const WHAT: &'static str = "delivery status";
}

/// An event with its delivery record, as tests and operators read it.
#[derive(Debug, Clone)]
pub struct StoredWebhookEvent {
    pub event: WebhookEvent,
    pub delivery_status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The receiver's HTTP status at the last attempt that got an answer.
    pub response_status: Option<i32>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one delivery attempt came to, as the claim's owner writes it.
#[derive(Debug, Clone)]
pub enum DeliveryMark {
    Delivered {
        response_status: i32,
        at: DateTime<Utc>,
    },
    Retry {
        error: String,
        response_status: Option<i32>,
        next_attempt_at: DateTime<Utc>,
    },
    Failed {
        error: String,
        response_status: Option<i32>,
    },
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Claims up to `limit` pending events due at `lease.now` and not under a live claim, for
    /// `lease.holder` until `lease.until`, oldest first.
    async fn claim_webhook_events(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<WebhookEvent>, StoreError>;

    /// Records an attempt's outcome (one more attempt) if `holder` still holds the claim and
    /// the event is still pending; says whether it applied.
    async fn mark_webhook_event(
        &self,
        id: i64,
        holder: &str,
        mark: &DeliveryMark,
    ) -> Result<bool, StoreError>;

    /// Writes `account.expiring` for each account whose end that only its member can prevent
    /// (the refresh token's end of life, or the death of an access token that cannot be
    /// refreshed) comes within the configured window of `now`: once per account and end.
    /// Returns how many were new; 0 while webhooks are off.
    async fn record_expiring_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes delivered and failed events that happened before `now` minus the configured
    /// retention; returns how many. Pending ones stay, however old.
    async fn prune_webhook_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Events in id order after `after_id`, at most `limit`, with their delivery records.
    async fn webhook_events(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredWebhookEvent>, StoreError>;
}
