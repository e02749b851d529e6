//! The `[log]` section: how the program writes its log.

use super::field::text;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A level like `info` or a filter like `tokenkeeper=debug`.
    #[serde(deserialize_with = "filter")]
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    Human,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?}: expected \"human\" or \"json\"")),
        }
    }
}

fn filter<'de, D: Deserializer<'de>>(level: D) -> Result<String, D::Error> {
    text(
        level,
        |level| match tracing_subscriber::EnvFilter::try_new(&level) {
            Ok(_) => Ok(level),
            Err(e) => Err(format!(
                "{e}: expected a level like info or a filter like tokenkeeper=debug"
            )),
        },
    )
}
