//! Turns an outbox row into an email: a clear subject, what happened, the deadline in the
//! configured time zone, what happens if the member does nothing, and a one-click link.
//! The text and HTML bodies come from templates operators may replace (`email.template_dir`,
//! files `reconnect.txt` and `reconnect.html`), rendered by `email_templates`. Every email
//! names the member's network (`networks.rs`); LinkedIn's read as they always have.

use super::email_templates::{EmailFields, EmailTemplates, RenderError, HTML, TEXT};
use super::networks::{Network, NetworkNames};
use crate::config::EmailSettings;
use crate::domain::EnumText;
use crate::domain::{Account, NotificationKind, ProviderKind, ProviderName};
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
    networks: NetworkNames,
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
            networks: NetworkNames::default(),
        };
        // Every kind once, with a sample member: what fails here would fail for every member.
        let deadline = Utc::now() + chrono::Duration::days(10);
        let sample = NetworkNames::default().of_provider(ProviderName::linkedin_ref());
        for &kind in NotificationKind::ALL {
            let wording = renderer.wording(kind, deadline, &sample);
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

    /// The same renderer, naming each account's network as `networks` does (LinkedIn alone
    /// until told).
    pub fn naming(mut self, networks: NetworkNames) -> Self {
        self.networks = networks;
        self
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
        let network = self.networks.of_provider(&account.provider);
        let wording = self.wording(kind, deadline, &network);
        let fields = wording.fields(account.name.as_deref(), account.member_id.as_str(), link);
        let (text, html) = self.templates.render(&fields)?;
        Ok(RenderedEmail {
            subject: wording.subject,
            text,
            html,
        })
    }

    /// What the email says for `kind` on `network`, before the member's own values. A
    /// sentence stating a network's own rule (LinkedIn's two months, its one year) is said
    /// only of that network's accounts; others get the same sentence without the number.
    fn wording(
        &self,
        kind: NotificationKind,
        deadline: DateTime<Utc>,
        network: &Network,
    ) -> Wording {
        let product = self.settings.product_name.as_str();
        let linkedin_rules = network.kind == ProviderKind::LinkedIn;
        let net = network.name.as_str();
        let local = deadline.with_timezone(&self.settings.timezone);
        let when = format!(
            "{} ({})",
            local.format("%A %-d %B %Y at %H:%M"),
            self.settings.timezone.name()
        );
        let day = local.format("%-d %B %Y").to_string();
        let (subject, headline, explanation, consequence) = match kind {
            NotificationKind::ReconnectRequired => (
                format!("Action needed: reconnect your {net} account to {product}"),
                format!("Your {net} connection has stopped working"),
                format!("{net} no longer accepts the access {product} had to your {net} account: it was revoked or has run out."),
                format!("Until you reconnect, {product} cannot act on {net} for you. Your current access ends no later than {when}."),
            ),
            NotificationKind::ReconnectDue => (
                format!("Please reconnect your {net} account to {product} (one click)"),
                format!("Time to renew your {net} connection"),
                if linkedin_rules {
                    format!("{net} asks you to confirm this connection every two months. Reconnecting now, while the current connection still works, takes a single click.")
                } else {
                    format!("{net} asks you to confirm this connection from time to time. Reconnecting now, while the current connection still works, takes a single click.")
                },
                format!("If you do nothing, {product} stops working with your {net} account on {when}."),
            ),
            NotificationKind::RefreshFailing => (
                format!("Your {net} connection to {product} needs attention"),
                format!("We could not renew your {net} connection"),
                format!("{net} has been failing to renew your connection for a while. Reconnecting yourself settles it for good."),
                format!("If this goes on and you do nothing, the connection stops working on {when}."),
            ),
            NotificationKind::ExpiryReminder => (
                format!("Reminder: your {net} connection to {product} ends on {day}"),
                format!("Your {net} connection ends soon"),
                format!("We wrote to you earlier: your {net} connection needs to be renewed, and it has not been yet."),
                format!("If you do nothing, {product} stops working with your {net} account on {when}."),
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
                    format!("Your {net} connection to {product} ends in {span}"),
                    format!("Your {net} connection ends in {span}"),
                    if linkedin_rules {
                        format!("{net} lets {product} renew its access for one year at most, and that year ends soon. Only you can extend it, by reconnecting.")
                    } else {
                        format!("{net} lets {product} renew its access for a limited time only, and that time ends soon. Only you can extend it, by reconnecting.")
                    },
                    format!("If you do nothing, {product} stops working with your {net} account on {when}."),
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
            network: net.to_owned(),
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
    network: String,
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
            network: &self.network,
            support: &self.support,
        }
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
