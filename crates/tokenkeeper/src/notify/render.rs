//! Turns an outbox row into an email: a clear subject, what happened, the deadline in the
//! configured time zone, what happens if the member does nothing, and a one-click link.
//! The text and HTML bodies come from templates operators may replace (`email.template_dir`,
//! files `reconnect.txt` and `reconnect.html`); `{{name}}`-style placeholders are filled in,
//! HTML-escaped in the HTML part.

use crate::config::EmailSettings;
use crate::domain::{Account, NotificationKind};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

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
    text: String,
    html: String,
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

impl Renderer {
    /// Loads the operator's templates when configured, the built-in ones otherwise. A
    /// configured folder must hold both files, as UTF-8 text, each with a `{{link}}`.
    pub fn new(settings: &EmailSettings) -> Result<Self, TemplateError> {
        let load = |file: &str, default: &str| -> Result<String, TemplateError> {
            let Some(dir) = &settings.template_dir else {
                return Ok(default.to_owned());
            };
            let path = dir.join(file);
            let refuse = |reason: String| TemplateError {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(&path).map_err(|e| refuse(e.to_string()))?;
            let probe = "\u{0}link\u{0}";
            if !fill(&text, &HashMap::from([("link", probe)]), |v| v.to_owned()).contains(probe) {
                return Err(refuse(
                    "has no {{link}}: the email would not let the member reconnect".to_owned(),
                ));
            }
            Ok(text)
        };
        Ok(Self {
            text: load("reconnect.txt", DEFAULT_TEXT)?,
            html: load("reconnect.html", DEFAULT_HTML)?,
            settings: settings.clone(),
        })
    }

    pub fn render(
        &self,
        kind: NotificationKind,
        account: &Account,
        deadline: DateTime<Utc>,
        link: &str,
    ) -> RenderedEmail {
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
        let name = account.name.clone().unwrap_or_else(|| "there".to_owned());
        let values: HashMap<&str, &str> = HashMap::from([
            ("subject", subject.as_str()),
            ("name", name.as_str()),
            ("headline", headline.as_str()),
            ("explanation", explanation.as_str()),
            ("consequence", consequence.as_str()),
            ("deadline", when.as_str()),
            ("link", link),
            ("member_id", account.member_id.as_str()),
            ("product", product),
            ("support", support.as_str()),
        ]);
        RenderedEmail {
            text: fill(&self.text, &values, |v| v.to_owned()),
            html: fill(&self.html, &values, crate::http::escape_html),
            subject,
        }
    }
}

/// Replaces each `{{key}}` with its value; unknown keys are left as they are, so a typo in an
/// operator's template shows in the email instead of silently vanishing.
fn fill(template: &str, values: &HashMap<&str, &str>, encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = after[..end].trim();
                match values.get(key) {
                    Some(value) => out.push_str(&encode(value)),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_keys_escapes_html_and_keeps_unknown_ones() {
        let values = HashMap::from([("name", "<Ada & co>")]);
        assert_eq!(
            fill(
                "Hi {{ name }}, {{nope}} {{",
                &values,
                crate::http::escape_html
            ),
            "Hi &lt;Ada &amp; co&gt;, {{nope}} {{"
        );
        assert_eq!(fill("{{name}}", &values, |v| v.to_owned()), "<Ada & co>");
    }
}
