//! The `[smtp]` section: how to reach the SMTP server that delivers the emails.

use super::error::{invalid, ConfigError};
use super::field::{choice, display, redacted, text, trimmed, Count, In, Seconds};
use lettre::message::Mailbox;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Empty: no SMTP server configured; `serve` queues emails and delivers none.
    #[serde(deserialize_with = "trimmed")]
    pub host: String,
    #[serde(with = "In::<Count, 1, 65_535>")]
    pub port: u16,
    #[serde(with = "choice")]
    pub security: SmtpSecurity,
    pub username: String,
    #[serde(serialize_with = "redacted")]
    pub password: SecretString,
    #[serde(deserialize_with = "mailbox", serialize_with = "display")]
    pub from: Mailbox,
    #[serde(rename = "timeout_seconds", with = "In::<Seconds, 1, 600>")]
    pub timeout: Duration,
    #[serde(with = "In::<Count, 1, 100>")]
    pub max_attempts: u32,
    #[serde(rename = "retry_initial_seconds", with = "In::<Seconds, 1, 86_400>")]
    pub retry_initial: Duration,
    #[serde(rename = "poll_seconds", with = "In::<Seconds, 1, 3600>")]
    pub poll: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP: for a relay on the same host or network only.
    None,
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: String::new(),
            password: SecretString::default(),
            from: "tokenkeeper <tokenkeeper@localhost>"
                .parse()
                .expect("the default sender is an address"),
            timeout: Duration::from_secs(30),
            max_attempts: 8,
            retry_initial: Duration::from_secs(60),
            poll: Duration::from_secs(30),
        }
    }
}

impl SmtpSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        if self.username.is_empty() != self.password.expose_secret().is_empty() {
            return Err(invalid(
                "smtp.password",
                "smtp.username and smtp.password go together: set both or neither",
            ));
        }
        if self.security == SmtpSecurity::None
            && !self.username.is_empty()
            && !is_this_machine(&self.host)
        {
            return Err(invalid("smtp.security", format!(
                "\"none\" would send smtp.password unencrypted to {:?}: use \"starttls\" or \"tls\", or a relay on this machine",
                self.host
            )));
        }
        Ok(())
    }
}

fn mailbox<'de, D: Deserializer<'de>>(from: D) -> Result<Mailbox, D::Error> {
    text(from, |from| {
        from.parse()
            .map_err(|_| format!("{from:?} is not an address like \"Acme <noreply@acme.com>\""))
    })
}

/// Whether an SMTP host is this machine, the one place a password may travel unencrypted.
fn is_this_machine(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
