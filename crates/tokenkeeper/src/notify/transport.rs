//! Where emails go: an SMTP server (plain, STARTTLS or TLS, optional auth), or `.eml` files
//! in a folder, written by lettre's file transport and named by it (the demo, and operators
//! who want to look before they send).
//!
//! The SMTP server is outside our control: it may accept the connection and never answer,
//! trickle its replies a byte at a time, or answer with pages of text. One message's whole
//! conversation is therefore bounded by `smtp.timeout_seconds` (lettre's own timeout covers
//! only the TCP connect), and what the server says is cut before it reaches a log line or
//! the outbox's `last_error`.

use crate::config::{SmtpSecurity, SmtpSettings};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The server refused, or the conversation broke; the text is already cut.
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("SMTP: the conversation did not finish within {} seconds", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("cannot write the email file: {0}")]
    File(#[from] lettre::transport::file::Error),
    #[error("cannot create the email folder: {0}")]
    Folder(#[from] std::io::Error),
}

impl From<lettre::transport::smtp::Error> for TransportError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        TransportError::Smtp(crate::telemetry::outside_text(
            &crate::telemetry::error_chain(&e),
        ))
    }
}

#[derive(Clone)]
pub enum Transport {
    Smtp {
        client: AsyncSmtpTransport<Tokio1Executor>,
        /// The bound on one message's whole conversation.
        timeout: Duration,
    },
    Files {
        dir: PathBuf,
        client: AsyncFileTransport<Tokio1Executor>,
    },
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

    /// Writes each message to a new `.eml` file in `dir`, created when needed.
    pub fn files(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Transport::Files {
            client: AsyncFileTransport::new(&dir),
            dir,
        }
    }

    /// Opens a conversation as a send would (connect, hello, STARTTLS or TLS, login) and
    /// closes it, within the same bound; sends nothing. Files need no check.
    pub async fn check(&self) -> Result<(), TransportError> {
        match self {
            Transport::Smtp { client, timeout } => {
                let connected = tokio::time::timeout(*timeout, client.test_connection())
                    .await
                    .map_err(|_| TransportError::TimedOut(*timeout))??;
                if connected {
                    Ok(())
                } else {
                    Err(TransportError::Smtp(
                        "the server closed the conversation after the hello".into(),
                    ))
                }
            }
            Transport::Files { .. } => Ok(()),
        }
    }

    /// Sends one message; returns what the server said (cut), or where the file went.
    pub async fn send(&self, message: &Message) -> Result<String, TransportError> {
        match self {
            Transport::Smtp { client, timeout } => {
                // Dropping the conversation on time-out closes its connection; the pool
                // never hands out a half-finished one.
                let response = tokio::time::timeout(*timeout, client.send(message.clone()))
                    .await
                    .map_err(|_| TransportError::TimedOut(*timeout))??;
                let said = response.message().collect::<Vec<_>>().join(" ");
                Ok(crate::telemetry::outside_text(&format!(
                    "{} {said}",
                    response.code()
                )))
            }
            Transport::Files { dir, client } => {
                tokio::fs::create_dir_all(dir).await?;
                let id = client.send(message.clone()).await?;
                Ok(format!(
                    "written to {}",
                    dir.join(format!("{id}.eml")).display()
                ))
            }
        }
    }
}
