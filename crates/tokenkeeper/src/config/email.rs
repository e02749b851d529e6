//! The `[email]` section: what the emails look like.

use super::error::{invalid, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawEmail {
    pub template_dir: String,
    pub timezone: String,
    pub product_name: String,
    pub support_contact: String,
}

impl Default for RawEmail {
    fn default() -> Self {
        Self {
            template_dir: String::new(),
            timezone: "UTC".into(),
            product_name: "our application".into(),
            support_contact: String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub template_dir: Option<PathBuf>,
    pub timezone: chrono_tz::Tz,
    pub product_name: String,
    pub support_contact: String,
}

impl TryFrom<RawEmail> for EmailSettings {
    type Error = ConfigError;

    fn try_from(e: RawEmail) -> Result<Self, ConfigError> {
        let timezone = e.timezone.parse().map_err(|_| {
            invalid(
                "email.timezone",
                format!(
                    "{:?} is not an IANA time zone name such as UTC or Europe/Paris",
                    e.timezone
                ),
            )
        })?;
        let template_dir = match e.template_dir.as_str() {
            "" => None,
            dir => {
                let path = PathBuf::from(dir);
                if !path.is_dir() {
                    return Err(invalid(
                        "email.template_dir",
                        format!("{dir:?} is not a directory"),
                    ));
                }
                Some(path)
            }
        };
        Ok(EmailSettings {
            template_dir,
            timezone,
            product_name: e.product_name,
            support_contact: e.support_contact,
        })
    }
}

/// The section as printed.
impl From<&EmailSettings> for RawEmail {
    fn from(e: &EmailSettings) -> Self {
        RawEmail {
            template_dir: e
                .template_dir
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            timezone: e.timezone.name().to_owned(),
            product_name: e.product_name.clone(),
            support_contact: e.support_contact.clone(),
        }
    }
}
