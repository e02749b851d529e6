//! The `[refresh]` section: when tokens are refreshed and how hard LinkedIn is pressed.

use super::field::{Count, Days, Hours, In, Millis, Percent, Seconds};
use crate::domain::ExpiryPolicy;
use chrono::Duration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefreshSettings {
    #[serde(rename = "refresh_after_days", with = "In::<Days, 1, 365>")]
    pub refresh_after: Duration,
    #[serde(rename = "safety_margin_hours", with = "In::<Hours, 0, 720>")]
    pub safety_margin: Duration,
    /// Refreshes in flight at once.
    #[serde(with = "In::<Count, 1, 1024>")]
    pub concurrency: usize,
    /// Due accounts claimed per database round trip.
    #[serde(with = "In::<Count, 1, 10_000>")]
    pub batch_size: i64,
    /// Calls to each network's token endpoint per second, across all workers of this
    /// process: each provider keeps its own rate.
    #[serde(with = "In::<Count, 1, 100_000>")]
    pub rate_per_second: u32,
    /// Tries per account within one sweep (the first call included).
    #[serde(with = "In::<Count, 1, 20>")]
    pub max_attempts: u32,
    #[serde(rename = "retry_initial_ms", with = "In::<Millis, 1, 600_000>")]
    pub retry_initial: std::time::Duration,
    /// No account is retried for longer than this within one sweep.
    #[serde(rename = "retry_max_total_seconds", with = "In::<Seconds, 1, 3600>")]
    pub retry_max_total: std::time::Duration,
    /// How long a claim on an account lasts before another process may take it over.
    #[serde(rename = "lease_seconds", with = "In::<Seconds, 1, 86_400>")]
    pub lease: Duration,
    #[serde(rename = "log_retention_days", with = "In::<Days, 1, 36_500>")]
    pub log_retention: Duration,
    /// The circuit breaker looks at this many recent calls...
    #[serde(with = "In::<Count, 1, 10_000>")]
    pub breaker_window: usize,
    /// ...and ends the sweep when this share of them failed transiently.
    #[serde(rename = "breaker_failure_percent", with = "In::<Percent, 1, 100>")]
    pub breaker_failure_ratio: f64,
    /// Consecutive slots in which LinkedIn refuses one account with an answer it does not
    /// document before that account's member is asked to reconnect.
    #[serde(with = "In::<Count, 1, 60>")]
    pub max_rejected_slots: u32,
}

impl RefreshSettings {
    pub fn expiry(&self) -> ExpiryPolicy {
        ExpiryPolicy {
            refresh_after: self.refresh_after,
            safety_margin: self.safety_margin,
            ..ExpiryPolicy::default()
        }
    }
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            refresh_after: Duration::days(50),
            safety_margin: Duration::hours(72),
            concurrency: 8,
            batch_size: 200,
            rate_per_second: 20,
            max_attempts: 4,
            retry_initial: std::time::Duration::from_secs(1),
            retry_max_total: std::time::Duration::from_secs(60),
            lease: Duration::minutes(10),
            log_retention: Duration::days(90),
            breaker_window: 20,
            breaker_failure_ratio: 0.8,
            max_rejected_slots: 3,
        }
    }
}
