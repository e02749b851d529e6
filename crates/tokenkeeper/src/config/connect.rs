//! The `[connect]` section: signed connect links and where they may send members back.

use super::error::{invalid, ConfigError};
use super::field::{http_url, redacted, redacted_url, In, Millis, Minutes, Note};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Origin;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectSettings {
    /// Required: the HMAC key of connect links, at least 32 characters.
    #[serde(serialize_with = "redacted")]
    pub signing_key: SecretString,
    #[serde(rename = "link_ttl_minutes", with = "In::<Minutes, 1, 10_080, AWeek>")]
    pub link_ttl: Duration,
    /// Origins `return_to` may point at, as `scheme://host[:port]`.
    #[serde(with = "origins")]
    pub allowed_return_origins: Vec<Origin>,
    /// How often expired sign-in attempts and used-link marks are deleted.
    #[serde(
        rename = "purge_interval_ms",
        with = "In::<Millis, 1, 86_400_000, ADay>"
    )]
    pub purge_interval: std::time::Duration,
}

struct AWeek;
impl Note for AWeek {
    const TEXT: &'static str = " (a week)";
}

struct ADay;
impl Note for ADay {
    const TEXT: &'static str = " (a day)";
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            signing_key: SecretString::default(),
            link_ttl: Duration::minutes(15),
            allowed_return_origins: Vec::new(),
            purge_interval: std::time::Duration::from_secs(300),
        }
    }
}

impl ConnectSettings {
    /// The signing key has no default: it is checked once every key is read.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.signing_key.expose_secret().len() < 32 {
            return Err(invalid(
                "connect.signing_key",
                "must be at least 32 characters (a long random string)",
            ));
        }
        Ok(())
    }
}

/// Origins like `https://app.example.com`, without a path.
mod origins {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(list: D) -> Result<Vec<Origin>, D::Error> {
        let origin = |text: String| {
            let url = http_url(&text)?;
            if url.path() != "/" || url.query().is_some() {
                return Err(format!(
                    "{:?} must be an origin like https://app.example.com, without a path",
                    redacted_url(&url)
                ));
            }
            Ok(url.origin())
        };
        Vec::<String>::deserialize(list)?
            .into_iter()
            .map(origin)
            .collect::<Result<_, _>>()
            .map_err(D::Error::custom)
    }

    pub fn serialize<S: Serializer>(origins: &[Origin], out: S) -> Result<S::Ok, S::Error> {
        out.collect_seq(origins.iter().map(Origin::ascii_serialization))
    }
}
