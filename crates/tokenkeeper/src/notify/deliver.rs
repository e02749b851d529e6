//! The delivery worker: claims due outbox rows, renders and sends them, and records the
//! outcome. Delivery is at least once: a crash between the server accepting a message and the
//! row being marked sent sends it again at the next pass, with the same Message-ID, so mail
//! systems and readers can tell it is the same email.

use super::claim::ClaimPlan;
use super::email_templates::RenderError;
use super::render::Renderer;
use super::transport::Transport;
use crate::config::SmtpSettings;
use crate::connect_link::ConnectLinks;
use crate::domain::EnumText;
use crate::domain::{AccountStatus, Clock, NotificationKind, NotificationStatus};
use crate::store::{ClaimedNotification, Lease, PendingEmail, Store, StoreError};
use chrono::Duration;
use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::Message;
use std::sync::Arc;
use tracing::Instrument;

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

#[derive(Clone)]
pub struct Delivery {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub renderer: Renderer,
    pub links: ConnectLinks,
    pub clock: Arc<dyn Clock>,
    pub smtp: SmtpSettings,
}

/// One claim's rows and the token that proves the claim is ours.
struct Claim {
    holder: String,
    plan: ClaimPlan,
}

impl Delivery {
    /// Sends everything due now; returns what happened.
    pub async fn send_pending(&self) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let plan = ClaimPlan::for_timeout(self.smtp.timeout);
        loop {
            let now = self.clock.now();
            // A new owner token for every claim: a row this worker lost and claimed again is
            // a new claim, and writes under the old one must not count.
            let claim = Claim {
                holder: uuid::Uuid::new_v4().to_string(),
                plan,
            };
            let lease = Lease {
                holder: claim.holder.clone(),
                now,
                until: now + plan.batch_lease,
            };
            let batch = self.store.claim_notifications(&lease, plan.batch).await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for claimed in batch {
                // Every line about this email, the transport's included, names it and its
                // account.
                let span = tracing::info_span!(
                    "deliver",
                    notification_id = claimed.id(),
                    account_id = claimed.account_id()
                );
                self.deliver(claimed, &claim, &mut report)
                    .instrument(span)
                    .await?;
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
                    skipped = r.skipped,
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
        claimed: ClaimedNotification,
        claim: &Claim,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let holder = claim.holder.as_str();
        let pending = match claimed {
            ClaimedNotification::Email(pending) => *pending,
            ClaimedNotification::UnknownKind { id, .. } => {
                if self
                    .store
                    .mark_failed(
                        id,
                        holder,
                        "unknown notification kind",
                        NotificationStatus::Failed,
                    )
                    .await?
                {
                    report.failed += 1;
                }
                return Ok(());
            }
        };
        let kind = pending.kind;
        // A warning about failing refreshes is moot once a refresh succeeded again.
        if kind == NotificationKind::RefreshFailing
            && pending.account.status == AccountStatus::Active
        {
            if self
                .store
                .mark_failed(
                    pending.id,
                    holder,
                    "the account recovered before sending",
                    NotificationStatus::Cancelled,
                )
                .await?
            {
                report.cancelled += 1;
            }
            return Ok(());
        }
        let message_id = message_id(&pending.dedupe_key, &self.smtp);
        let message = match self.compose(kind, &pending, &message_id) {
            Ok(message) => message,
            // The operator's template, not this member, is at fault: keep the email for
            // when the template is mended, without giving up on it.
            Err(ComposeError::Render(e)) => {
                let retry_at = self.clock.now() + self.backoff(pending.attempts as u32 + 1);
                tracing::error!(
                    notification_id = pending.id,
                    error = %e,
                    "cannot render the email; will retry"
                );
                if self
                    .store
                    .mark_retry(pending.id, holder, &e.to_string(), retry_at)
                    .await?
                {
                    report.retrying += 1;
                }
                return Ok(());
            }
            Err(ComposeError::Message(e)) => {
                tracing::error!(notification_id = pending.id, error = %e, "cannot build the email");
                if self
                    .store
                    .mark_failed(
                        pending.id,
                        holder,
                        &e.to_string(),
                        NotificationStatus::Failed,
                    )
                    .await?
                {
                    report.failed += 1;
                }
                return Ok(());
            }
        };
        // The batch's claim was taken long ago: check, just before sending, that the row is
        // still ours and still wanted, and hold it for as long as this one message may take.
        let now = self.clock.now();
        let renewal = Lease {
            holder: holder.to_owned(),
            now,
            until: now + claim.plan.message_lease,
        };
        if !self
            .store
            .renew_notification_claim(pending.id, &renewal)
            .await?
        {
            tracing::info!(
                notification_id = pending.id,
                account_id = pending.account.id,
                "email not sent: cancelled, or claimed by another worker, before its turn"
            );
            report.skipped += 1;
            return Ok(());
        }
        match self.transport.send(&message).await {
            Ok(answer) => {
                let recorded = self
                    .store
                    .mark_sent(pending.id, holder, &message_id, self.clock.now())
                    .await?;
                metrics::counter!("tokenkeeper_emails_total", "result" => "sent").increment(1);
                tracing::info!(
                    notification_id = pending.id,
                    account_id = pending.account.id,
                    kind = kind.as_str(),
                    answer,
                    "email sent"
                );
                if !recorded {
                    tracing::warn!(
                        notification_id = pending.id,
                        "the email went out while its notification was cancelled or claimed by another worker; the row keeps that state"
                    );
                }
                report.sent += 1;
            }
            Err(e) => {
                let error = crate::telemetry::outside_text(&crate::telemetry::error_chain(&e));
                let attempts = pending.attempts as u32 + 1;
                if attempts >= self.smtp.max_attempts {
                    if self
                        .store
                        .mark_failed(pending.id, holder, &error, NotificationStatus::Failed)
                        .await?
                    {
                        metrics::counter!("tokenkeeper_emails_total", "result" => "failed")
                            .increment(1);
                        tracing::error!(
                            notification_id = pending.id,
                            attempts,
                            error,
                            "email given up after its last attempt"
                        );
                        report.failed += 1;
                    }
                } else {
                    let delay = self.backoff(attempts);
                    if self
                        .store
                        .mark_retry(pending.id, holder, &error, self.clock.now() + delay)
                        .await?
                    {
                        metrics::counter!("tokenkeeper_emails_total", "result" => "retry")
                            .increment(1);
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
        }
        Ok(())
    }

    /// Exponential backoff after the `attempts`th failure: initial, x2, x4 ... capped at six
    /// hours.
    fn backoff(&self, attempts: u32) -> Duration {
        let delay = self
            .smtp
            .retry_initial
            .saturating_mul(1 << attempts.min(12).saturating_sub(1));
        Duration::from_std(delay)
            .unwrap_or(Duration::hours(6))
            .min(Duration::hours(6))
    }

    fn compose(
        &self,
        kind: NotificationKind,
        pending: &PendingEmail,
        message_id: &str,
    ) -> Result<Message, ComposeError> {
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
            .render(kind, account, pending.deadline, link.as_str())?;
        let to = account
            .email
            .as_str()
            .parse()
            .map_err(|_| lettre::error::Error::MissingTo)?;
        Ok(Message::builder()
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
            )?)
    }
}

#[derive(Debug, thiserror::Error)]
enum ComposeError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Message(#[from] lettre::error::Error),
}

/// Stable per notification, so a re-send after a crash carries the same Message-ID.
pub fn message_id(dedupe_key: &str, smtp: &SmtpSettings) -> String {
    let domain = smtp.from.email.domain();
    format!("<{}.tokenkeeper@{domain}>", dedupe_key.replace(':', "."))
}
