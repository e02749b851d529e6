//! `tokenkeeper webhooks`: a signed test event to the receiver, one delivery of every event
//! that is due, and a new signing secret.

use crate::config::Config;
use crate::services::Services;
use anyhow::Context;

const WEBHOOKS_OFF: &str =
    "webhooks are off: set webhooks.url (TOKENKEEPER_WEBHOOKS__URL) and webhooks.secret";

/// Needs no configuration: the secret goes to stdout, the advice to stderr.
pub fn generate_secret() {
    println!("{}", crate::crypto::WebhookSecret::generate());
    eprintln!("set it as webhooks.secret (TOKENKEEPER_WEBHOOKS__SECRET) here and in the receiver; keep it secret");
}

/// Prints the receiver's answer; an answer other than 2xx, or none, makes the exit status
/// non-zero.
pub async fn test(config: &Config) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    let target = config.webhooks.target().context(WEBHOOKS_OFF)?;
    let sender = crate::webhooks::Sender::new(target.clone(), config.webhooks.timeout)
        .context("cannot build the HTTP client for webhooks")?;
    let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let body = crate::webhooks::ping_body(chrono::Utc::now());
    let answer = sender.post(&message_id, body).await.with_context(|| {
        format!(
            "no answer from {}",
            crate::domain::redacted_url(&target.url)
        )
    })?;
    println!(
        "{} answered {} to {message_id}: {}",
        crate::domain::redacted_url(&target.url),
        answer.status,
        answer.body
    );
    anyhow::ensure!(
        answer.accepted(),
        "the receiver did not accept the test event (HTTP {})",
        answer.status
    );
    Ok(())
}

pub async fn send_pending(config: &Config) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    anyhow::ensure!(config.webhooks.enabled(), WEBHOOKS_OFF);
    let delivery = Services::build(config)
        .await?
        .webhooks()?
        .context(WEBHOOKS_OFF)?;
    let report = delivery.deliver_pending().await?;
    println!(
        "delivered {}, retrying later {}, failed {}",
        report.delivered, report.retrying, report.failed
    );
    Ok(())
}
