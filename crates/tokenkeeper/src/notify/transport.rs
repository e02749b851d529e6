//! Where emails go: an SMTP server (plain, STARTTLS or TLS, optional auth), or `.eml` files
//! in a folder (the demo, and operators who want to look before they send).

use crate::config::{SmtpSecurity, SmtpSettings};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write the email file: {0}")]
    File(#[from] std::io::Error),
}

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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
        Ok(Some(Transport::Smtp(builder.build())))
    }

    /// Sends one message; returns what the server said (or where the file went).
    pub async fn send(&self, message: &Message, file_stem: &str) -> Result<String, TransportError> {
        match self {
            Transport::Smtp(smtp) => {
                let response = smtp.send(message.clone()).await?;
                Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ))
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
