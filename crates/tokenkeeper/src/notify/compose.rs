//! An email as it leaves: the rendered templates in a multipart message, with a Message-ID
//! that stays the same for every send of one notification.

use super::deliver::Delivery;
use super::email_templates::RenderError;
use crate::config::SmtpSettings;
use crate::domain::NotificationKind;
use crate::store::PendingEmail;
use chrono::Duration;
use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::Message;

#[derive(Debug, thiserror::Error)]
pub(super) enum ComposeError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Message(#[from] lettre::error::Error),
}

impl Delivery {
    pub(super) fn compose(
        &self,
        kind: NotificationKind,
        pending: &PendingEmail,
        message_id: &str,
    ) -> Result<Message, ComposeError> {
        let account = &pending.account;
        // The link outlives the deadline by a week: after it, reconnecting still works, it
        // just takes LinkedIn's full consent screen.
        let now = self.clock.now();
        let link = self.links.issue_for(
            &account.provider,
            &account.user_id,
            &account.email,
            None,
            pending.deadline.max(now + Duration::days(1)) + Duration::days(7),
            crate::connect_link::LinkOptions::default(),
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

/// Stable per notification, so a re-send after a crash carries the same Message-ID.
pub fn message_id(dedupe_key: &str, smtp: &SmtpSettings) -> String {
    let domain = smtp.from.email.domain();
    format!("<{}.tokenkeeper@{domain}>", dedupe_key.replace(':', "."))
}
