//! The delivery worker: claims due events under a lease (several workers never send one at
//! the same time), posts each, and records the outcome as the claim's owner. A 2xx answer
//! delivers; anything else is tried again after a pause that doubles, up to
//! `webhooks.max_attempts`, then the event is marked failed and kept for the operator. At
//! least once: a crash between the receiver's answer and the mark sends the event again,
//! with the same `webhook-id`.

use super::payload::event_body;
use super::sender::Sender;
use crate::config::WebhookSettings;
use crate::domain::EnumText;
use crate::domain::{Clock, WebhookEvent};
use crate::notify::ClaimPlan;
use crate::store::{DeliveryMark, Lease, Store, StoreError};
use chrono::Duration;
use std::sync::Arc;
use tracing::Instrument;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookReport {
    pub delivered: u64,
    pub retrying: u64,
    pub failed: u64,
}

#[derive(Clone)]
pub struct WebhookDelivery {
    pub store: Arc<dyn Store>,
    pub sender: Sender,
    pub clock: Arc<dyn Clock>,
    pub settings: WebhookSettings,
}

impl WebhookDelivery {
    /// The worker for the configured receiver; `None` while webhooks are off.
    pub fn new(
        store: Arc<dyn Store>,
        settings: &WebhookSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, reqwest::Error> {
        let Some(target) = settings.target.clone() else {
            return Ok(None);
        };
        Ok(Some(Self {
            store,
            sender: Sender::new(target, settings.timeout)?,
            clock,
            settings: settings.clone(),
        }))
    }

    /// Delivers every event due now; returns what happened.
    pub async fn deliver_pending(&self) -> Result<WebhookReport, StoreError> {
        let mut report = WebhookReport::default();
        let plan = ClaimPlan::for_timeout(self.settings.timeout);
        loop {
            let now = self.clock.now();
            // A new owner for every claim, so a mark under a lapsed claim does not count.
            let lease = Lease {
                holder: uuid::Uuid::new_v4().to_string(),
                now,
                until: now + plan.batch_lease,
            };
            let batch = self.store.claim_webhook_events(&lease, plan.batch).await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for event in batch {
                let span = tracing::info_span!(
                    "webhook",
                    event_id = event.id,
                    account_id = event.account_id,
                    event_type = event.event_type.as_str()
                );
                self.deliver(event, &lease.holder, &mut report)
                    .instrument(span)
                    .await?;
            }
        }
    }

    /// Runs `deliver_pending` every `webhooks.poll_seconds` until the task is dropped.
    pub async fn run(self) {
        loop {
            tokio::time::sleep(self.settings.poll).await;
            match self.deliver_pending().await {
                Ok(r) if r == WebhookReport::default() => {}
                Ok(r) => tracing::info!(
                    delivered = r.delivered,
                    retrying = r.retrying,
                    failed = r.failed,
                    "webhook delivery pass"
                ),
                Err(e) => {
                    tracing::error!(error = %crate::telemetry::error_chain(&e), "webhook delivery pass failed")
                }
            }
        }
    }

    async fn deliver(
        &self,
        event: WebhookEvent,
        holder: &str,
        report: &mut WebhookReport,
    ) -> Result<(), StoreError> {
        let attempts = u32::try_from(event.attempts).unwrap_or(0) + 1;
        let (error, response_status) = match self
            .sender
            .post(&event.message_id, event_body(&event))
            .await
        {
            Ok(answer) if answer.accepted() => {
                let mark = DeliveryMark::Delivered {
                    response_status: answer.status.into(),
                    at: self.clock.now(),
                };
                if self
                    .store
                    .mark_webhook_event(event.id, holder, &mark)
                    .await?
                {
                    metrics::counter!("tokenkeeper_webhooks_total", "outcome" => "delivered")
                        .increment(1);
                    tracing::info!(attempts, status = answer.status, "webhook delivered");
                    report.delivered += 1;
                }
                return Ok(());
            }
            Ok(answer) => (
                format!("HTTP {}: {}", answer.status, answer.body),
                Some(i32::from(answer.status)),
            ),
            Err(e) => (e.to_string(), None),
        };
        if attempts >= self.settings.max_attempts {
            let mark = DeliveryMark::Failed {
                error: error.clone(),
                response_status,
            };
            if self
                .store
                .mark_webhook_event(event.id, holder, &mark)
                .await?
            {
                metrics::counter!("tokenkeeper_webhooks_total", "outcome" => "failed").increment(1);
                tracing::error!(attempts, error, "webhook given up after its last attempt");
                report.failed += 1;
            }
        } else {
            let delay = self.backoff(attempts);
            let mark = DeliveryMark::Retry {
                error: error.clone(),
                response_status,
                next_attempt_at: self.clock.now() + delay,
            };
            if self
                .store
                .mark_webhook_event(event.id, holder, &mark)
                .await?
            {
                metrics::counter!("tokenkeeper_webhooks_total", "outcome" => "retry").increment(1);
                tracing::warn!(
                    attempts,
                    error,
                    retry_in_seconds = delay.num_seconds(),
                    "webhook not delivered; will retry"
                );
                report.retrying += 1;
            }
        }
        Ok(())
    }

    /// The pause after the `attempts`th failure: initial, x2, x4 ... up to `retry_max`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let delay = self
            .settings
            .retry_initial
            .saturating_mul(1 << attempts.clamp(1, 20).saturating_sub(1))
            .min(self.settings.retry_max);
        Duration::from_std(delay).unwrap_or(Duration::days(7))
    }
}
