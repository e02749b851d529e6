//! The `[schedule]` section: when `serve` runs sweeps by itself.

use super::field::{display, text, time_zone, In, Millis};
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    /// Whether `serve` runs sweeps by itself (turn off when cron runs `tokenkeeper sweep`).
    pub enabled: bool,
    /// A five-field cron expression, read in `timezone`.
    #[serde(deserialize_with = "cron")]
    pub cron: String,
    #[serde(deserialize_with = "time_zone", serialize_with = "display")]
    pub timezone: chrono_tz::Tz,
    /// How often the scheduler looks at the clock while waiting for a slot.
    #[serde(rename = "poll_ms", with = "In::<Millis, 1, 3_600_000>")]
    pub poll: Duration,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            cron: "0 0,12 * * *".into(),
            timezone: chrono_tz::UTC,
            poll: Duration::from_secs(30),
        }
    }
}

fn cron<'de, D: Deserializer<'de>>(expression: D) -> Result<String, D::Error> {
    text(expression, |expression| {
        crate::domain::schedule::Schedule::parse(&expression, chrono_tz::UTC)?;
        Ok(expression)
    })
}
