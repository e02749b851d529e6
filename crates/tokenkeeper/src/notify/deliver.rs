//! The delivery worker: claims due outbox rows, renders and sends them, and records the
//! outcome. Delivery is at least once: a crash between the server accepting a message and the
//! row being marked sent sends it again at the next pass, with the same Message-ID, so mail
//! systems and readers can tell it is the same email.

use super::render::Renderer;
use super::transport::Transport;
use crate::config::SmtpSettings;
use crate::connect_link::ConnectLinks;
use crate::domain::{AccountStatus, Clock, NotificationKind};
use crate::store::{PendingEmail, Store, StoreError};
use chrono::Duration;
use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::Message;
use std::sync::Arc;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub sent: u64,
    pub retrying: u64,
    pub failed: u64,
    pub cancelled: u64,
}

#[derive(Clone)]
pub struct Delivery {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub renderer: Renderer,
    pub links: ConnectLinks,
    pub clock: Arc<dyn Clock>,
    pub smtp: SmtpSettings,
}

/// How many rows one claim takes, and how long the claim holds them.
const BATCH: i64 = 50;
const LEASE_MINUTES: i64 = 10;

impl Delivery {
    /// Sends everything due now; returns what happened.
    pub async fn send_pending(&self) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        loop {
            let now = self.clock.now();
            let batch = self
                .store
                .claim_notifications(now, now + Duration::minutes(LEASE_MINUTES), BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for pending in batch {
                self.deliver(pending, &mut report).await?;
            }
        }
    }

    /// Runs `send_pending` every `smtp.poll_seconds` until the task is dropped.
    pub async fn run(self) {
        loop {
            match self.send_pending().await {
                Ok(r) if r == DeliveryReport::default() => {}
                Ok(r) => tracing::info!(
                    sent = r.sent,
                    retrying = r.retrying,
                    failed = r.failed,
                    "email delivery pass"
                ),
                Err(e) => {
                    tracing::error!(error = %crate::telemetry::error_chain(&e), "email delivery pass failed")
                }
            }
            tokio::time::sleep(self.smtp.poll).await;
        }
    }

    async fn deliver(
        &self,
        pending: PendingEmail,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let kind = NotificationKind::parse(&pending.kind);
        let Ok(kind) = kind else {
            self.store
                .mark_failed(pending.id, "unknown notification kind", "failed")
                .await?;
            report.failed += 1;
            return Ok(());
        };
        // A warning about failing refreshes is moot once a refresh succeeded again.
        if kind == NotificationKind::RefreshFailing
            && pending.account.status == AccountStatus::Active
        {
            self.store
                .mark_failed(
                    pending.id,
                    "the account recovered before sending",
                    "cancelled",
                )
                .await?;
            report.cancelled += 1;
            return Ok(());
        }
        let message_id = message_id(&pending.dedupe_key, &self.smtp);
        let message = match self.compose(kind, &pending, &message_id) {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(notification_id = pending.id, error = %e, "cannot build the email");
                self.store
                    .mark_failed(pending.id, &e.to_string(), "failed")
                    .await?;
                report.failed += 1;
                return Ok(());
            }
        };
        let stem = pending.dedupe_key.replace(':', "-");
        match self.transport.send(&message, &stem).await {
            Ok(answer) => {
                self.store
                    .mark_sent(pending.id, &message_id, self.clock.now())
                    .await?;
                metrics::counter!("tokenkeeper_emails_total", "result" => "sent").increment(1);
                tracing::info!(
                    notification_id = pending.id,
                    account_id = pending.account.id,
                    kind = kind.as_str(),
                    answer,
                    "email sent"
                );
                report.sent += 1;
            }
            Err(e) => {
                let error = crate::telemetry::error_chain(&e);
                let attempts = pending.attempts as u32 + 1;
                if attempts >= self.smtp.max_attempts {
                    self.store.mark_failed(pending.id, &error, "failed").await?;
                    metrics::counter!("tokenkeeper_emails_total", "result" => "failed")
                        .increment(1);
                    tracing::error!(
                        notification_id = pending.id,
                        attempts,
                        error,
                        "email given up after its last attempt"
                    );
                    report.failed += 1;
                } else {
                    // Exponential backoff: initial, x2, x4 ... capped at six hours.
                    let delay = self
                        .smtp
                        .retry_initial
                        .saturating_mul(1 << attempts.min(12).saturating_sub(1));
                    let delay = Duration::from_std(delay)
                        .unwrap_or(Duration::hours(6))
                        .min(Duration::hours(6));
                    self.store
                        .mark_retry(pending.id, &error, self.clock.now() + delay)
                        .await?;
                    metrics::counter!("tokenkeeper_emails_total", "result" => "retry").increment(1);
                    tracing::warn!(
                        notification_id = pending.id,
                        attempts,
                        error,
                        retry_in_seconds = delay.num_seconds(),
                        "email not sent; will retry"
                    );
                    report.retrying += 1;
                }
            }
        }
        Ok(())
    }

    fn compose(
        &self,
        kind: NotificationKind,
        pending: &PendingEmail,
        message_id: &str,
    ) -> Result<Message, lettre::error::Error> {
        let account = &pending.account;
        // The link outlives the deadline by a week: after it, reconnecting still works, it
        // just takes LinkedIn's full consent screen.
        let now = self.clock.now();
        let link = self.links.issue(
            &account.user_id,
            &account.email,
            None,
            pending.deadline.max(now + Duration::days(1)) + Duration::days(7),
        );
        let email = self
            .renderer
            .render(kind, account, pending.deadline, link.as_str());
        let to = account
            .email
            .as_str()
            .parse()
            .map_err(|_| lettre::error::Error::MissingTo)?;
        Message::builder()
            .from(self.smtp.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(message_id.to_owned()))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(email.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(email.html),
                    ),
            )
    }
}

/// Stable per notification, so a re-send after a crash carries the same Message-ID.
pub fn message_id(dedupe_key: &str, smtp: &SmtpSettings) -> String {
    let domain = smtp.from.email.domain();
    format!("<{}.tokenkeeper@{domain}>", dedupe_key.replace(':', "."))
}
