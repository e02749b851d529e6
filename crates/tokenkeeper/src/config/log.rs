//! The `[log]` section: how the program writes its log.

use super::field::{choice, text};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    #[serde(with = "choice")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
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
