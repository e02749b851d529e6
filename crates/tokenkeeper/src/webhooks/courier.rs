//! The webhook outbox's courier: the outbox engine claims due events, and this side posts
//! each, signed, and writes the outcome with the receiver's HTTP status. Every attempt at one
//! event carries the same `webhook-id`, the event's own.

use super::deliver::WebhookDelivery;
use super::payload::event_body;
use super::sender::Answer;
use crate::domain::EnumText;
use crate::domain::WebhookEvent;
use crate::outbox::{Courier, Failure, Mark, Outcome, Pace, Prepared, RetrySchedule, Tally, Words};
use crate::store::{DeliveryMark, Lease, StoreError};
use chrono::{DateTime, Utc};

#[async_trait::async_trait]
impl Courier for WebhookDelivery {
    type Row = WebhookEvent;
    type Parcel = Vec<u8>;
    type Receipt = Answer;

    const WORDS: Words = Words::new(
        "webhook",
        "delivered",
        "tokenkeeper_webhooks_total",
        "outcome",
    );

    fn pace(&self) -> Pace {
        let webhooks = &self.settings;
        let retry = RetrySchedule::new(webhooks.retry_initial, webhooks.retry_max);
        Pace::new(
            webhooks.timeout,
            webhooks.max_attempts,
            retry,
            webhooks.poll,
        )
        .first_pass_after_poll()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn clock_jumped(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.clock.jumped()
    }

    fn attempts(event: &WebhookEvent) -> u32 {
        u32::try_from(event.attempts).unwrap_or(0)
    }

    fn span(event: &WebhookEvent) -> tracing::Span {
        tracing::info_span!(
            "webhook",
            event_id = event.id,
            account_id = event.account_id,
            event_type = event.event_type.as_str()
        )
    }

    async fn claim(&self, lease: &Lease, limit: i64) -> Result<Vec<WebhookEvent>, StoreError> {
        self.store.claim_webhook_events(lease, limit).await
    }

    /// Every event is sendable: its body is built from the stored row alone.
    fn prepare(&self, event: &WebhookEvent) -> Prepared<Vec<u8>> {
        Prepared::Ready(event_body(event))
    }

    /// Nothing cancels an event, and the batch's claim already covers every post at its
    /// worst: the claim stands as it was taken.
    async fn renew(&self, _event: &WebhookEvent, _lease: &Lease) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn send(&self, event: &WebhookEvent, body: Vec<u8>) -> Result<Answer, Failure> {
        match self.sender.post(&event.message_id, body).await {
            Ok(answer) if answer.accepted() => Ok(answer),
            Ok(answer) => Err(Failure {
                error: format!("HTTP {}: {}", answer.status, answer.body),
                status: Some(i32::from(answer.status)),
            }),
            Err(e) => Err(Failure::new(e.to_string())),
        }
    }

    async fn mark(&self, event: &WebhookEvent, mark: Mark<'_, Answer>) -> Result<bool, StoreError> {
        let outcome = match mark.outcome {
            Outcome::Sent { receipt, at } => DeliveryMark::Delivered {
                response_status: receipt.status.into(),
                at,
            },
            Outcome::Retry {
                failure,
                next_attempt_at,
            } => DeliveryMark::Retry {
                error: failure.error.clone(),
                response_status: failure.status,
                next_attempt_at,
            },
            Outcome::Failed { failure } => DeliveryMark::Failed {
                error: failure.error.clone(),
                response_status: failure.status,
            },
            // No event is ever cancelled (`prepare` sends them all); were one, it would be
            // kept as failed, for the operator.
            Outcome::Cancelled { reason } => DeliveryMark::Failed {
                error: reason.to_owned(),
                response_status: None,
            },
        };
        let store = &self.store;
        store
            .mark_webhook_event(event.id, mark.holder, &outcome)
            .await
    }

    /// A delivery counts once it is recorded: an event whose claim was lost is the other
    /// worker's to count.
    fn tell_sent(&self, event: &WebhookEvent, answer: &Answer, recorded: bool) -> bool {
        if recorded {
            let attempts = Self::attempts(event) + 1;
            tracing::info!(attempts, status = answer.status, "webhook delivered");
        }
        recorded
    }

    fn tell_pass(t: &Tally) {
        let (delivered, retrying, failed) = (t.sent, t.retrying, t.failed);
        tracing::info!(delivered, retrying, failed, "webhook delivery pass");
    }
}
