//! `tokenkeeper notify`: a test email through the configured SMTP server, or one delivery of
//! every reconnect email that is due.

use super::NotifyCommand;
use crate::config::Config;
use crate::notify::Transport;
use crate::services::Services;
use anyhow::Context;

pub async fn run(config: Config, command: NotifyCommand) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    let transport = Transport::smtp(&config.smtp)
        .context("invalid SMTP settings")?
        .context("no SMTP server configured: set smtp.host (TOKENKEEPER_SMTP__HOST)")?;
    match command {
        NotifyCommand::Test { to } => {
            let to: lettre::message::Mailbox = to
                .parse()
                .with_context(|| format!("--to {to:?} is not an email address"))?;
            let message = lettre::Message::builder()
                .from(config.smtp.from.clone())
                .to(to.clone())
                .subject("tokenkeeper: test email")
                .body(format!(
                    "This is a test email from tokenkeeper, sent through {}:{}.\nIf you read this, reconnect emails will arrive too.\n",
                    config.smtp.host, config.smtp.port
                ))?;
            let answer = transport.send(&message).await.with_context(|| {
                format!(
                    "sending to {to} through {}:{} failed",
                    config.smtp.host, config.smtp.port
                )
            })?;
            println!("sent to {to}; the server answered: {answer}");
            Ok(())
        }
        NotifyCommand::SendPending => {
            let delivery = Services::build(&config).await?.mail(transport)?;
            let report = delivery.send_pending().await?;
            println!(
                "sent {}, retrying later {}, failed {}, cancelled {}, skipped {}",
                report.sent, report.retrying, report.failed, report.cancelled, report.skipped
            );
            Ok(())
        }
    }
}
