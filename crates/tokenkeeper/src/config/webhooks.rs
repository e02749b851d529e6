//! The `[webhooks]` section: where the host app hears about its members' accounts, and how
//! hard tokenkeeper tries to reach it. Off while `url` is empty.

use super::error::{invalid, ConfigError};
use super::field::{optional, optional_url, redacted, Count, Days, In, Seconds};
use crate::crypto::WebhookSecret;
use crate::domain::WebhookEvents;
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Empty turns webhooks off: no event is written or sent.
    #[serde(with = "optional_url")]
    pub url: Option<Url>,
    /// `whsec_` and base64, as the Standard Webhooks specification writes it.
    #[serde(deserialize_with = "secret", serialize_with = "redacted")]
    pub secret: Option<WebhookSecret>,
    /// One delivery attempt's whole request, answer included.
    #[serde(rename = "timeout_seconds", with = "In::<Seconds, 1, 120>")]
    pub timeout: Duration,
    /// Attempts in all, the first included; an event is marked failed after the last.
    #[serde(with = "In::<Count, 1, 100>")]
    pub max_attempts: u32,
    /// The pause after the first failure; it doubles after each one...
    #[serde(rename = "retry_initial_seconds", with = "In::<Seconds, 1, 86_400>")]
    pub retry_initial: Duration,
    /// ...up to this, whatever the doubling reaches.
    #[serde(rename = "retry_max_seconds", with = "In::<Seconds, 1, 604_800>")]
    pub retry_max: Duration,
    #[serde(rename = "poll_seconds", with = "In::<Seconds, 1, 3600>")]
    pub poll: Duration,
    /// How long before an end only the member can prevent `account.expiring` is sent.
    #[serde(rename = "expiring_days", with = "In::<Days, 1, 365>")]
    pub expiring_within: chrono::Duration,
    /// How long delivered and failed events are kept.
    #[serde(rename = "retention_days", with = "In::<Days, 1, 3650>")]
    pub retention: chrono::Duration,
}

/// Where events go and what signs them; present only when webhooks are on.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: Url,
    pub secret: WebhookSecret,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: None,
            secret: None,
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            retry_initial: Duration::from_secs(30),
            retry_max: Duration::from_secs(6 * 3600),
            poll: Duration::from_secs(5),
            expiring_within: chrono::Duration::days(7),
            retention: chrono::Duration::days(30),
        }
    }
}

impl WebhookSettings {
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    pub fn target(&self) -> Option<WebhookTarget> {
        Some(WebhookTarget {
            url: self.url.clone()?,
            secret: self.secret.clone()?,
        })
    }

    /// The events the store writes with its state changes: none while webhooks are off.
    pub fn events(&self) -> WebhookEvents {
        match self.enabled() {
            true => WebhookEvents::On {
                expiring_within: self.expiring_within,
                retention: self.retention,
            },
            false => WebhookEvents::Off,
        }
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.url.is_some() && self.secret.is_none() {
            return Err(invalid(
                "webhooks.secret",
                "required when webhooks.url is set (whsec_ followed by base64 of 24 to 64 random bytes)",
            ));
        }
        Ok(())
    }
}

/// `whsec_` and base64, or empty.
fn secret<'de, D: Deserializer<'de>>(text: D) -> Result<Option<WebhookSecret>, D::Error> {
    optional(text, |text| {
        WebhookSecret::parse(text).map_err(|e| e.to_string())
    })
}
