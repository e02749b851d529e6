//! Where emails go: an SMTP server (plain, STARTTLS or TLS, optional auth), or `.eml` files
//! in a folder (the demo, and operators who want to look before they send).
//!
//! The SMTP server is outside our control: it may accept the connection and never answer,
//! trickle its replies a byte at a time, or answer with pages of text. One message's whole
//! conversation is therefore bounded by `smtp.timeout_seconds` (lettre's own timeout covers
//! only the TCP connect), and what the server says is cut before it reaches a log line or
//! the outbox's `last_error`.

use crate::config::{SmtpSecurity, SmtpSettings};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

/// The most of a server's text we keep, in characters. Enough for any real diagnostic.
const SERVER_TEXT_LIMIT: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The server refused, or the conversation broke; the text is already cut.
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("SMTP: the conversation did not finish within {} seconds", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("cannot write the email file: {0}")]
    File(#[from] std::io::Error),
}

impl From<lettre::transport::smtp::Error> for TransportError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        TransportError::Smtp(server_text(&crate::telemetry::error_chain(&e)))
    }
}

#[derive(Clone)]
pub enum Transport {
    Smtp {
        client: AsyncSmtpTransport<Tokio1Executor>,
        /// The bound on one message's whole conversation.
        timeout: Duration,
    },
    Files(PathBuf),
}

impl Transport {
    /// The SMTP transport the settings describe; `None` when no host is configured.
    pub fn smtp(settings: &SmtpSettings) -> Result<Option<Self>, TransportError> {
        if settings.host.is_empty() {
            return Ok(None);
        }
        let builder = match settings.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)?,
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.expose_secret().to_owned(),
            ));
        }
        Ok(Some(Transport::Smtp {
            client: builder.build(),
            timeout: settings.timeout,
        }))
    }

    /// Sends one message; returns what the server said (cut), or where the file went.
    pub async fn send(&self, message: &Message, file_stem: &str) -> Result<String, TransportError> {
        match self {
            Transport::Smtp { client, timeout } => {
                // Dropping the conversation on time-out closes its connection; the pool
                // never hands out a half-finished one.
                let response = tokio::time::timeout(*timeout, client.send(message.clone()))
                    .await
                    .map_err(|_| TransportError::TimedOut(*timeout))??;
                let said = response.message().collect::<Vec<_>>().join(" ");
                Ok(server_text(&format!("{} {said}", response.code())))
            }
            Transport::Files(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!("{file_stem}.eml"));
                std::fs::write(&path, message.formatted())?;
                Ok(format!("written to {}", path.display()))
            }
        }
    }
}

/// A server's text as we may log and store it: on one line (control characters, which could
/// forge log lines, become spaces) and at most `SERVER_TEXT_LIMIT` characters.
pub fn server_text(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(SERVER_TEXT_LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(SERVER_TEXT_LIMIT).is_some() {
        out.push_str(" [cut]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_one_bounded_line() {
        assert_eq!(server_text("550 no\r\nsuch user"), "550 no  such user");
        let long = "é".repeat(10_000);
        let cut = server_text(&long);
        assert!(cut.ends_with(" [cut]"));
        assert_eq!(cut.chars().count(), SERVER_TEXT_LIMIT + " [cut]".len());
        assert_eq!(server_text("250 OK"), "250 OK");
    }
}
