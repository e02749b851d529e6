//! The `[api]` section: how the host application proves itself to the API.

use super::check::shown_secret;
use super::error::{invalid, ConfigError};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawApi {
    /// Secret; empty turns the API off.
    pub api_key: String,
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Bearer key the host app presents to the API. Without one the API answers 503.
    pub api_key: Option<SecretString>,
}

impl TryFrom<RawApi> for ApiSettings {
    type Error = ConfigError;

    fn try_from(raw: RawApi) -> Result<Self, ConfigError> {
        let api_key = match raw.api_key {
            key if key.is_empty() => None,
            key if key.len() < 16 => {
                return Err(invalid(
                    "api.api_key",
                    "must be at least 16 characters (a long random string)",
                ))
            }
            key => Some(SecretString::from(key)),
        };
        Ok(Self { api_key })
    }
}

/// The section as printed, its secret redacted.
impl From<&ApiSettings> for RawApi {
    fn from(api: &ApiSettings) -> Self {
        Self {
            api_key: api.api_key.as_ref().map(shown_secret).unwrap_or_default(),
        }
    }
}
