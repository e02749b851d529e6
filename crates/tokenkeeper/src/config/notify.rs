//! The `[notify]` section: when members are emailed about a connection about to die. It is
//! read straight into the domain's policy.

use super::field::{Days, In};
use crate::domain::NotificationPolicy;
use chrono::Duration;
use serde::{Deserialize, Deserializer, Serialize};

/// `#[serde(with = "Notify")]` reads and prints a `NotificationPolicy` under these keys.
#[derive(Serialize, Deserialize)]
#[serde(remote = "NotificationPolicy", deny_unknown_fields)]
pub(super) struct Notify {
    #[serde(rename = "warning_days", with = "In::<Days, 0, 59>")]
    warning_window: Duration,
    #[serde(rename = "reminder_days_before", with = "In::<Days, 0, 59>")]
    reminder_before: Duration,
    #[serde(deserialize_with = "reminder_days")]
    refresh_token_reminder_days: Vec<i64>,
}

fn reminder_days<'de, D: Deserializer<'de>>(days: D) -> Result<Vec<i64>, D::Error> {
    let days = Vec::<u64>::deserialize(days)?;
    match days.iter().find(|d| ![30, 7, 1].contains(*d)) {
        Some(bad) => Err(serde::de::Error::custom(format!(
            "{bad}: each entry must be 30, 7 or 1"
        ))),
        None => Ok(days.into_iter().map(|d| d as i64).collect()),
    }
}
