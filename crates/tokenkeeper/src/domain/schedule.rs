//! When sweeps run: cron slots (00:00 and 12:00 by default) in a configurable time zone.
//! A value type with no dependency inside the crate, so configuration can check a cron
//! expression without pulling in what runs the sweeps (`crate::workers`).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    timezone: Tz,
}

impl Schedule {
    pub fn parse(expression: &str, timezone: Tz) -> Result<Self, String> {
        let cron = Cron::new(expression)
            .parse()
            .map_err(|e| format!("{expression:?} is not a cron expression ({e}); expected five fields like \"0 0,12 * * *\""))?;
        Ok(Self { cron, timezone })
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|slot| slot.with_timezone(&Utc))
    }

    /// The latest slot at or before `t`: the one a process that was down should catch up.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Cron has no "previous", so walk forward from far enough back; the windows grow for
        // sparse schedules (monthly, yearly).
        for window in [Duration::days(2), Duration::days(40), Duration::days(400)] {
            let mut cursor = t - window;
            let mut latest = None;
            while let Some(slot) = self.next_after(cursor) {
                if slot > t {
                    break;
                }
                latest = Some(slot);
                cursor = slot;
            }
            if latest.is_some() {
                return latest;
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
