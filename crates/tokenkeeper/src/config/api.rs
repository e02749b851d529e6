//! The `[api]` section: how the host application proves itself to the API.

use super::field::{redacted, text};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Bearer key the host app presents to the API. Without one (empty) the API answers 503.
    #[serde(deserialize_with = "api_key", serialize_with = "redacted")]
    pub api_key: Option<SecretString>,
}

fn api_key<'de, D: Deserializer<'de>>(key: D) -> Result<Option<SecretString>, D::Error> {
    text(key, |key| match key.len() {
        0 => Ok(None),
        1..16 => Err("must be at least 16 characters (a long random string)".into()),
        _ => Ok(Some(SecretString::from(key))),
    })
}
