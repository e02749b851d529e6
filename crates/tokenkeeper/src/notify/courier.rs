//! The email outbox's courier: the outbox engine claims due notifications, and this side
//! renders and sends each, and writes the outcome. A reconnect cancels the emails of its
//! episode: the renewal just before the send, and every mark, apply only to a pending row, so
//! the cancellation wins over a worker still busy with the row.

use super::compose::{message_id, ComposeError};
use super::deliver::Delivery;
use crate::domain::EnumText;
use crate::domain::{AccountStatus, NotificationKind, NotificationStatus};
use crate::outbox::{Courier, Failure, Mark, Outcome, Pace, Prepared, RetrySchedule, Tally, Words};
use crate::store::{ClaimedNotification, Lease, StoreError};
use chrono::{DateTime, Utc};
use lettre::Message;

/// The longest pause between two sends of one email.
const LONGEST_PAUSE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// An email ready to go, under the Message-ID every send of it carries.
pub struct Email {
    message: Message,
    message_id: String,
}

/// The server's answer (cut), and the Message-ID the row keeps.
pub struct Accepted {
    answer: String,
    message_id: String,
}

#[async_trait::async_trait]
impl Courier for Delivery {
    type Row = ClaimedNotification;
    type Parcel = Email;
    type Receipt = Accepted;

    const WORDS: Words = Words::new("email", "sent", "tokenkeeper_emails_total", "result");

    fn pace(&self) -> Pace {
        let smtp = &self.smtp;
        let retry = RetrySchedule::new(smtp.retry_initial, LONGEST_PAUSE);
        Pace::new(smtp.timeout, smtp.max_attempts, retry, smtp.poll)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn clock_jumped(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.clock.jumped()
    }

    fn attempts(row: &ClaimedNotification) -> u32 {
        match row {
            ClaimedNotification::Email(pending) => u32::try_from(pending.attempts).unwrap_or(0),
            ClaimedNotification::UnknownKind { .. } => 0,
        }
    }

    /// Every line about this email, the transport's included, names it and its account.
    fn span(row: &ClaimedNotification) -> tracing::Span {
        tracing::info_span!(
            "deliver",
            notification_id = row.id(),
            account_id = row.account_id()
        )
    }

    async fn claim(&self, lease: &Lease, limit: i64) -> Result<Vec<Self::Row>, StoreError> {
        self.store.claim_notifications(lease, limit).await
    }

    fn prepare(&self, row: &ClaimedNotification) -> Prepared<Email> {
        let ClaimedNotification::Email(pending) = row else {
            return Prepared::Failed(Failure::new("unknown notification kind"));
        };
        let kind = pending.kind;
        // A warning about failing refreshes is moot once a refresh succeeded again.
        if kind == NotificationKind::RefreshFailing
            && pending.account.status == AccountStatus::Active
        {
            return Prepared::Cancelled("the account recovered before sending".into());
        }
        let message_id = message_id(&pending.dedupe_key, &self.smtp);
        match self.compose(kind, pending, &message_id) {
            Ok(message) => Prepared::Ready(Email {
                message,
                message_id,
            }),
            // The operator's template, not this member, is at fault: keep the email for
            // when the template is mended, without giving up on it.
            Err(ComposeError::Render(e)) => {
                tracing::error!(
                    notification_id = pending.id,
                    error = %e,
                    "cannot render the email; will retry"
                );
                Prepared::Later(Failure::new(e.to_string()))
            }
            Err(ComposeError::Message(e)) => {
                tracing::error!(notification_id = pending.id, error = %e, "cannot build the email");
                Prepared::Failed(Failure::new(e.to_string()))
            }
        }
    }

    async fn renew(&self, row: &ClaimedNotification, lease: &Lease) -> Result<bool, StoreError> {
        let renewed = self.store.renew_notification_claim(row.id(), lease).await?;
        if !renewed {
            tracing::info!(
                notification_id = row.id(),
                account_id = row.account_id(),
                "email not sent: cancelled, or claimed by another worker, before its turn"
            );
        }
        Ok(renewed)
    }

    async fn send(&self, _row: &ClaimedNotification, email: Email) -> Result<Accepted, Failure> {
        match self.transport.send(&email.message).await {
            Ok(answer) => Ok(Accepted {
                answer,
                message_id: email.message_id,
            }),
            Err(e) => Err(Failure::new(crate::telemetry::outside_text(
                &crate::telemetry::error_chain(&e),
            ))),
        }
    }

    async fn mark(
        &self,
        row: &ClaimedNotification,
        mark: Mark<'_, Accepted>,
    ) -> Result<bool, StoreError> {
        let (store, id, holder) = (&self.store, row.id(), mark.holder);
        match mark.outcome {
            Outcome::Sent { receipt, at } => store.mark_sent(id, holder, &receipt.message_id, at),
            Outcome::Retry {
                failure,
                next_attempt_at,
            } => store.mark_retry(id, holder, &failure.error, next_attempt_at),
            Outcome::Failed { failure } => {
                store.mark_failed(id, holder, &failure.error, NotificationStatus::Failed)
            }
            Outcome::Cancelled { reason } => {
                store.mark_failed(id, holder, reason, NotificationStatus::Cancelled)
            }
        }
        .await
    }

    /// An email that went out counts as sent, recorded or not.
    fn tell_sent(&self, row: &ClaimedNotification, sent: &Accepted, recorded: bool) -> bool {
        let kind = match row {
            ClaimedNotification::Email(pending) => pending.kind.as_str(),
            ClaimedNotification::UnknownKind { .. } => "",
        };
        tracing::info!(
            notification_id = row.id(),
            account_id = row.account_id(),
            kind,
            answer = sent.answer.as_str(),
            "email sent"
        );
        if !recorded {
            tracing::warn!(
                notification_id = row.id(),
                "the email went out while its notification was cancelled or claimed by another worker; the row keeps that state"
            );
        }
        true
    }

    fn tell_pass(t: &Tally) {
        let (sent, retrying, failed, skipped) = (t.sent, t.retrying, t.failed, t.skipped);
        tracing::info!(sent, retrying, failed, skipped, "email delivery pass");
    }
}
