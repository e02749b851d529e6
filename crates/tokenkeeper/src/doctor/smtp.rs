//! The SMTP server: a connection, the hello, and STARTTLS or TLS and the login when
//! configured, exactly as the mail worker would open it; no message is sent.

use super::Finding;
use crate::config::{Config, SmtpSecurity};
use crate::notify::Transport;

const CHECK: &str = "smtp";

pub async fn examine(config: &Config) -> Finding {
    let smtp = &config.smtp;
    let transport = match Transport::smtp(smtp) {
        Ok(Some(transport)) => transport,
        Ok(None) => {
            return Finding::warn(
                CHECK,
                "smtp.host is not set: reconnect emails wait in the outbox until it is (or until `tokenkeeper notify send-pending` runs with one)",
            )
        }
        Err(e) => return Finding::fail(CHECK, format!("invalid SMTP settings: {e}")),
    };
    let server = format!("{}:{}", smtp.host, smtp.port);
    let login = if smtp.username.is_empty() {
        String::new()
    } else {
        format!(", logged in as {}", smtp.username)
    };
    match transport.check().await {
        Ok(()) => Finding::ok(
            CHECK,
            format!(
                "{server} answered the hello ({}{login})",
                security(smtp.security)
            ),
        ),
        Err(e) => Finding::fail(
            CHECK,
            format!(
                "{server} ({}): {e}: check smtp.host, smtp.port and smtp.security{}",
                security(smtp.security),
                if smtp.username.is_empty() {
                    ""
                } else {
                    ", smtp.username and smtp.password"
                }
            ),
        ),
    }
}

fn security(security: SmtpSecurity) -> &'static str {
    match security {
        SmtpSecurity::None => "plain",
        SmtpSecurity::StartTls => "STARTTLS",
        SmtpSecurity::Tls => "TLS",
    }
}
