//! The webhook outbox's courier: the outbox engine claims due events, and this side posts
//! each, signed, and writes the outcome with the receiver's HTTP status. Every attempt at one
//! event carries the same `webhook-id`, the event's own.

use super::deliver::{WebhookDelivery, WebhookReport};
use super::payload::event_body;
use super::sender::Answer;
use crate::domain::WebhookEvent;
use crate::outbox::{Courier, Failure, Mark, Pace, Prepared, RetrySchedule, Words};
use crate::store::{DeliveryMark, Lease, StoreError};
use chrono::{DateTime, Utc};

#[async_trait::async_trait]
impl Courier for WebhookDelivery {
    type Row = WebhookEvent;
    type Parcel = Vec<u8>;
    type Receipt = Answer;
    type Report = WebhookReport;

    const WORDS: Words = Words {
        metric: "tokenkeeper_webhooks_total",
        label: "outcome",
        sent: "delivered",
        skipped: "webhook not sent: claimed by another worker before its turn",
        given_up: "webhook given up after its last attempt",
        will_retry: "webhook not delivered; will retry",
        pass_failed: "webhook delivery pass failed",
    };

    fn pace(&self) -> Pace {
        Pace {
            timeout: self.settings.timeout,
            max_attempts: self.settings.max_attempts,
            retry: RetrySchedule {
                first: self.settings.retry_initial,
                longest: self.settings.retry_max,
            },
            poll: self.settings.poll,
            first_pass_at_start: false,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn id(event: &WebhookEvent) -> i64 {
        event.id
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

    async fn mark(
        &self,
        event: &WebhookEvent,
        holder: &str,
        mark: Mark<'_, Answer>,
    ) -> Result<bool, StoreError> {
        let mark = match mark {
            Mark::Sent { receipt, at } => DeliveryMark::Delivered {
                response_status: receipt.status.into(),
                at,
            },
            Mark::Retry {
                failure,
                next_attempt_at,
            } => DeliveryMark::Retry {
                error: failure.error.clone(),
                response_status: failure.status,
                next_attempt_at,
            },
            Mark::Failed { failure } => DeliveryMark::Failed {
                error: failure.error.clone(),
                response_status: failure.status,
            },
            // No event is ever cancelled (`prepare` sends them all); were one, it would be
            // kept as failed, for the operator.
            Mark::Cancelled { reason } => DeliveryMark::Failed {
                error: reason.to_owned(),
                response_status: None,
            },
        };
        self.store.mark_webhook_event(event.id, holder, &mark).await
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

    fn tell_pass(r: &WebhookReport) {
        tracing::info!(
            delivered = r.delivered,
            retrying = r.retrying,
            failed = r.failed,
            "webhook delivery pass"
        );
    }
}
