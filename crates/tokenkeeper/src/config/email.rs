//! The `[email]` section: what the emails look like.

use super::field::{display, text, time_zone};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// Templates that replace the built-in ones; empty: none.
    #[serde(deserialize_with = "directory", serialize_with = "shown_path")]
    pub template_dir: Option<PathBuf>,
    #[serde(deserialize_with = "time_zone", serialize_with = "display")]
    pub timezone: chrono_tz::Tz,
    pub product_name: String,
    pub support_contact: String,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            template_dir: None,
            timezone: chrono_tz::UTC,
            product_name: "our application".into(),
            support_contact: String::new(),
        }
    }
}

fn directory<'de, D: Deserializer<'de>>(dir: D) -> Result<Option<PathBuf>, D::Error> {
    text(dir, |dir| match PathBuf::from(&dir) {
        _ if dir.is_empty() => Ok(None),
        path if path.is_dir() => Ok(Some(path)),
        _ => Err(format!("{dir:?} is not a directory")),
    })
}

fn shown_path<S: Serializer>(dir: &Option<PathBuf>, out: S) -> Result<S::Ok, S::Error> {
    out.collect_str(
        &dir.as_ref()
            .map_or(String::new(), |d| d.display().to_string()),
    )
}
