//! The `[notify]` section: when members are emailed about a connection about to die.

use super::error::{invalid, ConfigError};
use crate::domain::NotificationPolicy;
use chrono::Duration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawNotify {
    /// 0 to 59.
    pub warning_days: u64,
    /// 0 to 59.
    pub reminder_days_before: u64,
    /// Each entry 30, 7 or 1.
    pub refresh_token_reminder_days: Vec<u64>,
}

impl Default for RawNotify {
    fn default() -> Self {
        Self {
            warning_days: 3,
            reminder_days_before: 3,
            refresh_token_reminder_days: vec![30, 7, 1],
        }
    }
}

impl TryFrom<RawNotify> for NotificationPolicy {
    type Error = ConfigError;

    fn try_from(n: RawNotify) -> Result<Self, ConfigError> {
        if n.warning_days > 59 {
            return Err(invalid("notify.warning_days", "expected 0 to 59"));
        }
        if n.reminder_days_before > 59 {
            return Err(invalid("notify.reminder_days_before", "expected 0 to 59"));
        }
        if let Some(bad) = n
            .refresh_token_reminder_days
            .iter()
            .find(|d| ![30, 7, 1].contains(*d))
        {
            return Err(invalid(
                "notify.refresh_token_reminder_days",
                format!("{bad}: each entry must be 30, 7 or 1"),
            ));
        }
        Ok(NotificationPolicy {
            warning_window: Duration::days(n.warning_days as i64),
            reminder_before: Duration::days(n.reminder_days_before as i64),
            refresh_token_reminder_days: n
                .refresh_token_reminder_days
                .iter()
                .map(|d| *d as i64)
                .collect(),
        })
    }
}

/// The section as printed.
impl From<&NotificationPolicy> for RawNotify {
    fn from(n: &NotificationPolicy) -> Self {
        Self {
            warning_days: n.warning_window.num_days() as u64,
            reminder_days_before: n.reminder_before.num_days() as u64,
            refresh_token_reminder_days: n
                .refresh_token_reminder_days
                .iter()
                .map(|d| *d as u64)
                .collect(),
        }
    }
}
