//! The `[schedule]` section: when `serve` runs sweeps by itself.

use super::error::{invalid, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSchedule {
    pub enabled: bool,
    /// Five-field cron expression.
    pub cron: String,
    /// IANA zone the cron expression is read in.
    pub timezone: String,
    /// 1 to 3600000.
    pub poll_ms: u64,
}

impl Default for RawSchedule {
    fn default() -> Self {
        Self {
            enabled: true,
            cron: "0 0,12 * * *".into(),
            timezone: "UTC".into(),
            poll_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// Whether `serve` runs sweeps by itself (turn off when cron runs `tokenkeeper sweep`).
    pub enabled: bool,
    pub cron: String,
    pub timezone: chrono_tz::Tz,
    /// How often the scheduler looks at the clock while waiting for a slot.
    pub poll: std::time::Duration,
}

impl TryFrom<RawSchedule> for ScheduleSettings {
    type Error = ConfigError;

    fn try_from(s: RawSchedule) -> Result<Self, ConfigError> {
        let timezone: chrono_tz::Tz = s.timezone.parse().map_err(|_| {
            invalid(
                "schedule.timezone",
                format!(
                    "{:?} is not an IANA time zone name such as UTC or Europe/Paris",
                    s.timezone
                ),
            )
        })?;
        crate::schedule::Schedule::parse(&s.cron, timezone)
            .map_err(|message| invalid("schedule.cron", message))?;
        if s.poll_ms == 0 || s.poll_ms > 3_600_000 {
            return Err(invalid("schedule.poll_ms", "expected 1 to 3600000"));
        }
        Ok(Self {
            enabled: s.enabled,
            cron: s.cron,
            timezone,
            poll: std::time::Duration::from_millis(s.poll_ms),
        })
    }
}

/// The section as printed.
impl From<&ScheduleSettings> for RawSchedule {
    fn from(s: &ScheduleSettings) -> Self {
        Self {
            enabled: s.enabled,
            cron: s.cron.clone(),
            timezone: s.timezone.name().to_owned(),
            poll_ms: s.poll.as_millis() as u64,
        }
    }
}
