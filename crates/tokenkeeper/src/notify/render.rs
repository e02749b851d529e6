//! Turns an outbox row into an email: a clear subject, what happened, the deadline in the
//! configured time zone, what happens if the member does nothing, and a one-click link.
//! The text and HTML bodies come from templates operators may replace (`email.template_dir`,
//! files `reconnect.txt` and `reconnect.html`), rendered by `email_templates`.

use super::email_templates::{EmailFields, EmailTemplates, RenderError, HTML, TEXT};
use crate::config::EmailSettings;
use crate::domain::EnumText;
use crate::domain::{Account, NotificationKind};
use chrono::{DateTime, Utc};

const DEFAULT_TEXT: &str = include_str!("templates/reconnect.txt");
const DEFAULT_HTML: &str = include_str!("templates/reconnect.html");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone)]
pub struct Renderer {
    templates: EmailTemplates,
    settings: EmailSettings,
}

/// An operator's template that cannot be used: the service refuses to start rather than
/// send members an email without its reconnect link.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `email.template_dir`: {path}: {reason}")]
pub struct TemplateError {
    pub path: String,
    pub reason: String,
}

/// Stands for the member's link in the start-up check; only letters, so that no escaping
/// can hide it.
const LINK_PROBE: &str = "tokenkeeperLinkProbe";

impl Renderer {
    /// Loads the operator's templates when configured, the built-in ones otherwise. A
    /// configured folder must hold both files, as UTF-8 text, each a template that renders
    /// every kind of email and places the `{{link}}` in it.
    pub fn new(settings: &EmailSettings) -> Result<Self, TemplateError> {
        let path_of = |file: &str| match &settings.template_dir {
            Some(dir) => dir.join(file).display().to_string(),
            None => format!("(built-in) {file}"),
        };
        let refuse = |file: &str, reason: String| TemplateError {
            path: path_of(file),
            reason,
        };
        let load = |file: &str, default: &str| -> Result<String, TemplateError> {
            let Some(dir) = &settings.template_dir else {
                return Ok(default.to_owned());
            };
            std::fs::read_to_string(dir.join(file)).map_err(|e| refuse(file, e.to_string()))
        };
        let templates =
            EmailTemplates::compile(load(TEXT, DEFAULT_TEXT)?, load(HTML, DEFAULT_HTML)?)
                .map_err(|(file, reason)| refuse(file, reason))?;
        let renderer = Self {
            templates,
            settings: settings.clone(),
        };
        // Every kind once, with a sample member: what fails here would fail for every member.
        let deadline = Utc::now() + chrono::Duration::days(10);
        for &kind in NotificationKind::ALL {
            let wording = renderer.wording(kind, deadline);
            let fields = wording.fields(Some("Ada Lovelace"), "782bbtaQ", LINK_PROBE);
            for file in [TEXT, HTML] {
                let body = renderer
                    .templates
                    .render_for_check(file, &fields)
                    .map_err(|e| refuse(file, format!("cannot be rendered: {e}")))?;
                if !body.contains(LINK_PROBE) {
                    return Err(refuse(
                        file,
                        "has no {{link}}: the email would not let the member reconnect".to_owned(),
                    ));
                }
            }
        }
        Ok(renderer)
    }

    /// The email for one notification. Fails only when an operator's template fails for this
    /// member's values although it rendered the sample at start-up (an index past the end of
    /// a name, say); the caller keeps the notification for later.
    pub fn render(
        &self,
        kind: NotificationKind,
        account: &Account,
        deadline: DateTime<Utc>,
        link: &str,
    ) -> Result<RenderedEmail, RenderError> {
        let wording = self.wording(kind, deadline);
        let fields = wording.fields(account.name.as_deref(), account.member_id.as_str(), link);
        let (text, html) = self.templates.render(&fields)?;
        Ok(RenderedEmail {
            subject: wording.subject,
            text,
            html,
        })
    }

    /// What the email says for `kind`, before the member's own values.
    fn wording(&self, kind: NotificationKind, deadline: DateTime<Utc>) -> Wording {
        let product = self.settings.product_name.as_str();
        let local = deadline.with_timezone(&self.settings.timezone);
        let when = format!(
            "{} ({})",
            local.format("%A %-d %B %Y at %H:%M"),
            self.settings.timezone.name()
        );
        let day = local.format("%-d %B %Y").to_string();
        let (subject, headline, explanation, consequence) = match kind {
            NotificationKind::ReconnectRequired => (
                format!("Action needed: reconnect your LinkedIn account to {product}"),
                "Your LinkedIn connection has stopped working".to_owned(),
                format!("LinkedIn no longer accepts the access {product} had to your LinkedIn account: it was revoked or has run out."),
                format!("Until you reconnect, {product} cannot act on LinkedIn for you. Your current access ends no later than {when}."),
            ),
            NotificationKind::ReconnectDue => (
                format!("Please reconnect your LinkedIn account to {product} (one click)"),
                "Time to renew your LinkedIn connection".to_owned(),
                "LinkedIn asks you to confirm this connection every two months. Reconnecting now, while the current connection still works, takes a single click.".to_owned(),
                format!("If you do nothing, {product} stops working with your LinkedIn account on {when}."),
            ),
            NotificationKind::RefreshFailing => (
                format!("Your LinkedIn connection to {product} needs attention"),
                "We could not renew your LinkedIn connection".to_owned(),
                "LinkedIn has been failing to renew your connection for a while. Reconnecting yourself settles it for good.".to_owned(),
                format!("If this goes on and you do nothing, the connection stops working on {when}."),
            ),
            NotificationKind::ExpiryReminder => (
                format!("Reminder: your LinkedIn connection to {product} ends on {day}"),
                "Your LinkedIn connection ends soon".to_owned(),
                "We wrote to you earlier: your LinkedIn connection needs to be renewed, and it has not been yet.".to_owned(),
                format!("If you do nothing, {product} stops working with your LinkedIn account on {when}."),
            ),
            NotificationKind::RefreshTokenEnding30
            | NotificationKind::RefreshTokenEnding7
            | NotificationKind::RefreshTokenEnding1 => {
                let days = match kind {
                    NotificationKind::RefreshTokenEnding30 => 30,
                    NotificationKind::RefreshTokenEnding7 => 7,
                    _ => 1,
                };
                let span = if days == 1 { "1 day".to_owned() } else { format!("{days} days") };
                (
                    format!("Your LinkedIn connection to {product} ends in {span}"),
                    format!("Your LinkedIn connection ends in {span}"),
                    format!("LinkedIn lets {product} renew its access for one year at most, and that year ends soon. Only you can extend it, by reconnecting."),
                    format!("If you do nothing, {product} stops working with your LinkedIn account on {when}."),
                )
            }
        };
        let support = if self.settings.support_contact.is_empty() {
            String::new()
        } else {
            format!("Questions? Contact {}.", self.settings.support_contact)
        };
        Wording {
            subject,
            headline,
            explanation,
            consequence,
            deadline: when,
            product: product.to_owned(),
            support,
        }
    }
}

struct Wording {
    subject: String,
    headline: String,
    explanation: String,
    consequence: String,
    deadline: String,
    product: String,
    support: String,
}

impl Wording {
    fn fields<'a>(
        &'a self,
        name: Option<&'a str>,
        member_id: &'a str,
        link: &'a str,
    ) -> EmailFields<'a> {
        EmailFields {
            subject: &self.subject,
            name: name.unwrap_or("there"),
            headline: &self.headline,
            explanation: &self.explanation,
            consequence: &self.consequence,
            deadline: &self.deadline,
            link,
            member_id,
            product: &self.product,
            support: &self.support,
        }
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
