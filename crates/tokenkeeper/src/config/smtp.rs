//! The `[smtp]` section: how to reach the SMTP server that delivers the emails.

use super::check::{in_range, shown_secret};
use super::error::{invalid, ConfigError};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSmtp {
    pub host: String,
    pub port: u64,
    pub security: String,
    pub username: String,
    pub password: String,
    pub from: String,
    pub timeout_seconds: u64,
    pub max_attempts: u64,
    pub retry_initial_seconds: u64,
    pub poll_seconds: u64,
}

impl Default for RawSmtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "tokenkeeper <tokenkeeper@localhost>".into(),
            timeout_seconds: 30,
            max_attempts: 8,
            retry_initial_seconds: 60,
            poll_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP: for a relay on the same host or network only.
    None,
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Empty: no SMTP server configured; `serve` queues emails and delivers none.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: SecretString,
    pub from: lettre::message::Mailbox,
    pub timeout: std::time::Duration,
    pub max_attempts: u32,
    pub retry_initial: std::time::Duration,
    pub poll: std::time::Duration,
}

impl TryFrom<RawSmtp> for SmtpSettings {
    type Error = ConfigError;

    fn try_from(s: RawSmtp) -> Result<Self, ConfigError> {
        let security = match s.security.as_str() {
            "none" => SmtpSecurity::None,
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            other => {
                return Err(invalid(
                    "smtp.security",
                    format!("{other:?}: expected \"none\", \"starttls\" or \"tls\""),
                ))
            }
        };
        if s.port == 0 || s.port > 65535 {
            return Err(invalid("smtp.port", "expected 1 to 65535"));
        }
        let from = s.from.parse().map_err(|_| {
            invalid(
                "smtp.from",
                format!(
                    "{:?} is not an address like \"Acme <noreply@acme.com>\"",
                    s.from
                ),
            )
        })?;
        if s.username.is_empty() != s.password.is_empty() {
            return Err(invalid(
                "smtp.password",
                "smtp.username and smtp.password go together: set both or neither",
            ));
        }
        let host = s.host.trim().to_owned();
        if security == SmtpSecurity::None && !s.username.is_empty() && !is_this_machine(&host) {
            return Err(invalid(
            "smtp.security",
            format!(
                "\"none\" would send smtp.password unencrypted to {host:?}: use \"starttls\" or \"tls\", or a relay on this machine"
            ),
        ));
        }
        Ok(SmtpSettings {
            host,
            port: s.port as u16,
            security,
            username: s.username,
            password: SecretString::from(s.password),
            from,
            timeout: std::time::Duration::from_secs(in_range(
                "smtp.timeout_seconds",
                s.timeout_seconds,
                600,
            )?),
            max_attempts: in_range("smtp.max_attempts", s.max_attempts, 100)? as u32,
            retry_initial: std::time::Duration::from_secs(in_range(
                "smtp.retry_initial_seconds",
                s.retry_initial_seconds,
                86_400,
            )?),
            poll: std::time::Duration::from_secs(in_range(
                "smtp.poll_seconds",
                s.poll_seconds,
                3600,
            )?),
        })
    }
}

/// The section as printed, its secret redacted.
impl From<&SmtpSettings> for RawSmtp {
    fn from(s: &SmtpSettings) -> Self {
        RawSmtp {
            host: s.host.clone(),
            port: s.port as u64,
            security: match s.security {
                SmtpSecurity::None => "none",
                SmtpSecurity::StartTls => "starttls",
                SmtpSecurity::Tls => "tls",
            }
            .into(),
            username: s.username.clone(),
            password: shown_secret(&s.password),
            from: s.from.to_string(),
            timeout_seconds: s.timeout.as_secs(),
            max_attempts: s.max_attempts as u64,
            retry_initial_seconds: s.retry_initial.as_secs(),
            poll_seconds: s.poll.as_secs(),
        }
    }
}

/// Whether an SMTP host is this machine, the one place a password may travel unencrypted.
fn is_this_machine(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
