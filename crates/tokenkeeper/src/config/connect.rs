//! The `[connect]` section: signed connect links and where they may send members back.

use super::field::{parse_http_url, redacted, text, ADay, AWeek, In, Millis, Minutes};
use crate::domain::redacted_url;
use chrono::Duration;
use secrecy::SecretString;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Origin;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectSettings {
    /// Required: the HMAC key of connect links, at least 32 characters.
    #[serde(deserialize_with = "signing_key", serialize_with = "redacted")]
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

fn signing_key<'de, D: Deserializer<'de>>(key: D) -> Result<SecretString, D::Error> {
    text(key, |key| match key.len() {
        1..32 => Err("must be at least 32 characters (a long random string)".into()),
        _ => Ok(SecretString::from(key)),
    })
}

/// Origins like `https://app.example.com`, without a path.
mod origins {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(list: D) -> Result<Vec<Origin>, D::Error> {
        let origin = |text: String| {
            let url = parse_http_url(&text)?;
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
