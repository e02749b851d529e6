//! The email delivery worker: what it holds, and what a pass reports. It runs the outbox
//! engine's loop (`crate::outbox`) with the email courier (`courier.rs`). A crash between the
//! server accepting a message and the row being marked sent sends it again at the next pass,
//! with the same Message-ID, so mail systems and readers can tell it is the same email.

use super::render::Renderer;
use super::transport::Transport;
use crate::config::SmtpSettings;
use crate::connect_link::ConnectLinks;
use crate::domain::Clock;
use crate::outbox::{self, Tally};
use crate::store::{OutboxStore, StoreError};
use std::sync::Arc;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub sent: u64,
    pub retrying: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Claimed but not sent: cancelled by a reconnect, or taken over by another worker,
    /// before its turn came.
    pub skipped: u64,
}

impl From<Tally> for DeliveryReport {
    fn from(t: Tally) -> Self {
        Self {
            sent: t.sent,
            retrying: t.retrying,
            failed: t.failed,
            cancelled: t.cancelled,
            skipped: t.skipped,
        }
    }
}

#[derive(Clone)]
pub struct Delivery {
    pub store: Arc<dyn OutboxStore>,
    pub transport: Transport,
    pub renderer: Renderer,
    pub links: ConnectLinks,
    pub clock: Arc<dyn Clock>,
    pub smtp: SmtpSettings,
}

impl Delivery {
    /// Sends everything due now; returns what happened.
    pub async fn send_pending(&self) -> Result<DeliveryReport, StoreError> {
        outbox::deliver_pending(self)
            .await
            .map(DeliveryReport::from)
    }
}
