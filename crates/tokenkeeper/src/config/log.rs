//! The `[log]` section: how the program writes its log.

use super::error::{invalid, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLog {
    /// `human` or `json`.
    pub format: String,
    /// A level like `info` or a filter like `tokenkeeper=debug`.
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: "human".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl TryFrom<RawLog> for LogSettings {
    type Error = ConfigError;

    fn try_from(raw: RawLog) -> Result<Self, ConfigError> {
        let format = match raw.format.as_str() {
            "human" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log.format",
                    format!("{other:?}: expected \"human\" or \"json\""),
                ))
            }
        };
        tracing_subscriber::EnvFilter::try_new(&raw.level).map_err(|e| {
            invalid(
                "log.level",
                format!("{e}: expected a level like info or a filter like tokenkeeper=debug"),
            )
        })?;
        Ok(Self {
            format,
            level: raw.level,
        })
    }
}

/// The section as printed.
impl From<&LogSettings> for RawLog {
    fn from(l: &LogSettings) -> Self {
        Self {
            format: match l.format {
                LogFormat::Human => "human".into(),
                LogFormat::Json => "json".into(),
            },
            level: l.level.clone(),
        }
    }
}
