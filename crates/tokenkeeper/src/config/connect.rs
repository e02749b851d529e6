//! The `[connect]` section: signed connect links and where they may send members back.

use super::check::{parse_http_url, redacted_url, shown_secret};
use super::error::{invalid, ConfigError};
use chrono::Duration;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConnect {
    /// Required, secret: HMAC key of connect links, at least 32 characters.
    pub signing_key: String,
    /// 1 to 10080 (a week).
    pub link_ttl_minutes: u64,
    /// Origins like `https://app.example.com`, without a path.
    pub allowed_return_origins: Vec<String>,
    /// 1 to 86400000 (a day).
    pub purge_interval_ms: u64,
}

impl Default for RawConnect {
    fn default() -> Self {
        Self {
            signing_key: String::new(),
            link_ttl_minutes: 15,
            allowed_return_origins: Vec::new(),
            purge_interval_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub signing_key: SecretString,
    pub link_ttl: Duration,
    /// Origins `return_to` may point at, as `scheme://host[:port]`.
    pub allowed_return_origins: Vec<url::Origin>,
    /// How often expired sign-in attempts and used-link marks are deleted.
    pub purge_interval: std::time::Duration,
}

impl TryFrom<RawConnect> for ConnectSettings {
    type Error = ConfigError;

    fn try_from(c: RawConnect) -> Result<Self, ConfigError> {
        if c.signing_key.len() < 32 {
            return Err(invalid(
                "connect.signing_key",
                "must be at least 32 characters (a long random string)",
            ));
        }
        if c.link_ttl_minutes == 0 || c.link_ttl_minutes > 7 * 24 * 60 {
            return Err(invalid(
                "connect.link_ttl_minutes",
                "expected 1 to 10080 (a week)",
            ));
        }
        let mut allowed_return_origins = Vec::new();
        for origin in &c.allowed_return_origins {
            let url = parse_http_url("connect.allowed_return_origins", origin)?;
            if url.path() != "/" || url.query().is_some() {
                return Err(invalid(
                    "connect.allowed_return_origins",
                    format!(
                        "{:?} must be an origin like https://app.example.com, without a path",
                        redacted_url(&url)
                    ),
                ));
            }
            allowed_return_origins.push(url.origin());
        }
        if c.purge_interval_ms == 0 || c.purge_interval_ms > 86_400_000 {
            return Err(invalid(
                "connect.purge_interval_ms",
                "expected 1 to 86400000 (a day)",
            ));
        }
        Ok(Self {
            signing_key: SecretString::from(c.signing_key),
            link_ttl: Duration::minutes(c.link_ttl_minutes as i64),
            allowed_return_origins,
            purge_interval: std::time::Duration::from_millis(c.purge_interval_ms),
        })
    }
}

/// The section as printed, its secret redacted.
impl From<&ConnectSettings> for RawConnect {
    fn from(c: &ConnectSettings) -> Self {
        Self {
            signing_key: shown_secret(&c.signing_key),
            link_ttl_minutes: c.link_ttl.num_minutes() as u64,
            allowed_return_origins: c
                .allowed_return_origins
                .iter()
                .map(|o| o.ascii_serialization())
                .collect(),
            purge_interval_ms: c.purge_interval.as_millis() as u64,
        }
    }
}
