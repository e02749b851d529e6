//! The webhook delivery worker: what it holds, and what a pass reports. It runs the outbox
//! engine's loop (`crate::outbox`) with the webhook courier (`courier.rs`): a 2xx answer
//! delivers; anything else is tried again after a pause that doubles, up to
//! `webhooks.max_attempts`, then the event is marked failed and kept for the operator. At
//! least once: a crash between the receiver's answer and the mark sends the event again,
//! with the same `webhook-id`.

use super::sender::Sender;
use crate::config::WebhookSettings;
use crate::domain::Clock;
use crate::outbox::{self, Tally};
use crate::store::{StoreError, WebhookStore};
use std::sync::Arc;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookReport {
    pub delivered: u64,
    pub retrying: u64,
    pub failed: u64,
}

impl From<Tally> for WebhookReport {
    fn from(t: Tally) -> Self {
        Self {
            delivered: t.sent,
            retrying: t.retrying,
            failed: t.failed,
        }
    }
}

#[derive(Clone)]
pub struct WebhookDelivery {
    pub store: Arc<dyn WebhookStore>,
    pub sender: Sender,
    pub clock: Arc<dyn Clock>,
    pub settings: WebhookSettings,
}

impl WebhookDelivery {
    /// The worker for the configured receiver; `None` while webhooks are off.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        settings: &WebhookSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, reqwest::Error> {
        let Some(target) = settings.target() else {
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
        outbox::deliver_pending(self).await.map(WebhookReport::from)
    }
}
