//! The pause before an outbox row is tried again: the first pause after the first failure,
//! doubling with each failure after it, never longer than the longest (for emails six hours,
//! for webhooks `webhooks.retry_max_seconds`). backon's exponential backoff, without jitter:
//! the next attempt's time is written into the row, and the schedule is documented.

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first: Duration,
    pub longest: Duration,
}

impl RetrySchedule {
    pub fn new(first: Duration, longest: Duration) -> Self {
        Self { first, longest }
    }

    /// The pause after the `failures`th failed attempt (the first is 1).
    pub fn after(&self, failures: u32) -> chrono::Duration {
        let pause = ExponentialBuilder::new()
            .with_min_delay(self.first)
            .with_max_delay(self.longest)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .nth(failures.saturating_sub(1) as usize)
            .unwrap_or(self.longest)
            // backon starts at the first pause even where it is longer than the longest.
            .min(self.longest);
        // No pause the settings allow is too long for chrono.
        chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::weeks(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(first: u64, longest: u64) -> RetrySchedule {
        RetrySchedule::new(Duration::from_secs(first), Duration::from_secs(longest))
    }

    fn pauses(schedule: RetrySchedule, failures: std::ops::RangeInclusive<u32>) -> Vec<i64> {
        failures.map(|n| schedule.after(n).num_seconds()).collect()
    }

    #[test]
    fn the_pause_doubles_after_each_failure_up_to_the_longest() {
        // The email defaults: a minute, at most six hours.
        assert_eq!(
            pauses(seconds(60, 6 * 3600), 1..=10),
            [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600]
        );
        // The webhook defaults: 30 seconds, at most six hours.
        assert_eq!(
            pauses(seconds(30, 21_600), 1..=11),
            [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600]
        );
        assert_eq!(pauses(seconds(30, 21_600), 99..=100), [21_600, 21_600]);
        // The widest settings: a day, doubling to a week.
        assert_eq!(
            pauses(seconds(86_400, 604_800), 1..=5),
            [86_400, 172_800, 345_600, 604_800, 604_800]
        );
    }

    #[test]
    fn no_failure_yet_counts_as_the_first_and_the_longest_bounds_the_first() {
        assert_eq!(seconds(60, 3600).after(0).num_seconds(), 60);
        assert_eq!(pauses(seconds(600, 30), 1..=3), [30, 30, 30]);
    }
}
