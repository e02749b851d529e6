//! The `[webhooks]` section: where the host app hears about its members' accounts, and how
//! hard tokenkeeper tries to reach it. Off while `url` is empty.

use super::check::{in_range, parse_http_url};
use super::error::{invalid, ConfigError};
use crate::crypto::WebhookSecret;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawWebhooks {
    /// Empty turns webhooks off: no event is written or sent.
    pub url: String,
    /// Secret: `whsec_` and base64, as the Standard Webhooks specification writes it.
    pub secret: String,
    pub timeout_seconds: u64,
    pub max_attempts: u64,
    pub retry_initial_seconds: u64,
    pub retry_max_seconds: u64,
    pub poll_seconds: u64,
    /// How long before an end only the member can prevent `account.expiring` is sent.
    pub expiring_days: u64,
    /// How long delivered and failed events are kept.
    pub retention_days: u64,
}

impl Default for RawWebhooks {
    fn default() -> Self {
        Self {
            url: String::new(),
            secret: String::new(),
            timeout_seconds: 10,
            max_attempts: 10,
            retry_initial_seconds: 30,
            retry_max_seconds: 6 * 3600,
            poll_seconds: 5,
            expiring_days: 7,
            retention_days: 30,
        }
    }
}

/// Where events go and what signs them; present only when webhooks are on.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: Url,
    pub secret: WebhookSecret,
}

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub target: Option<WebhookTarget>,
    /// One delivery attempt's whole request, answer included.
    pub timeout: Duration,
    /// Attempts in all, the first included; an event is marked failed after the last.
    pub max_attempts: u32,
    /// The pause after the first failure; it doubles after each one.
    pub retry_initial: Duration,
    /// The longest pause, whatever the doubling reaches.
    pub retry_max: Duration,
    pub poll: Duration,
    pub expiring_within: chrono::Duration,
    pub retention: chrono::Duration,
}

impl WebhookSettings {
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// The events the store writes with its state changes: none while webhooks are off.
    pub fn events(&self) -> crate::store::WebhookEvents {
        match self.target {
            Some(_) => crate::store::WebhookEvents::On {
                expiring_within: self.expiring_within,
                retention: self.retention,
            },
            None => crate::store::WebhookEvents::Off,
        }
    }
}

impl TryFrom<RawWebhooks> for WebhookSettings {
    type Error = ConfigError;

    fn try_from(w: RawWebhooks) -> Result<Self, ConfigError> {
        let url = w.url.trim();
        let target = if url.is_empty() {
            None
        } else {
            let url = parse_http_url("webhooks.url", url)?;
            if w.secret.is_empty() {
                return Err(invalid(
                    "webhooks.secret",
                    "required when webhooks.url is set (whsec_ followed by base64 of 24 to 64 random bytes)",
                ));
            }
            let secret = WebhookSecret::parse(&w.secret)
                .map_err(|e| invalid("webhooks.secret", e.to_string()))?;
            Some(WebhookTarget { url, secret })
        };
        let retry_initial = in_range(
            "webhooks.retry_initial_seconds",
            w.retry_initial_seconds,
            86_400,
        )?;
        let retry_max = in_range("webhooks.retry_max_seconds", w.retry_max_seconds, 604_800)?;
        Ok(Self {
            target,
            timeout: Duration::from_secs(in_range(
                "webhooks.timeout_seconds",
                w.timeout_seconds,
                120,
            )?),
            max_attempts: in_range("webhooks.max_attempts", w.max_attempts, 100)? as u32,
            retry_initial: Duration::from_secs(retry_initial),
            retry_max: Duration::from_secs(retry_max),
            poll: Duration::from_secs(in_range("webhooks.poll_seconds", w.poll_seconds, 3600)?),
            expiring_within: chrono::Duration::days(in_range(
                "webhooks.expiring_days",
                w.expiring_days,
                365,
            )? as i64),
            retention: chrono::Duration::days(in_range(
                "webhooks.retention_days",
                w.retention_days,
                3650,
            )? as i64),
        })
    }
}

/// The section as printed, its secret redacted.
impl From<&WebhookSettings> for RawWebhooks {
    fn from(w: &WebhookSettings) -> Self {
        Self {
            url: w
                .target
                .as_ref()
                .map(|t| super::field::redacted_url(&t.url))
                .unwrap_or_default(),
            secret: if w.target.is_some() {
                "[redacted]".into()
            } else {
                String::new()
            },
            timeout_seconds: w.timeout.as_secs(),
            max_attempts: w.max_attempts.into(),
            retry_initial_seconds: w.retry_initial.as_secs(),
            retry_max_seconds: w.retry_max.as_secs(),
            poll_seconds: w.poll.as_secs(),
            expiring_days: w.expiring_within.num_days() as u64,
            retention_days: w.retention.num_days() as u64,
        }
    }
}
