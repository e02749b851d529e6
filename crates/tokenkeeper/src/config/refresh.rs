//! The `[refresh]` section: when tokens are refreshed and how hard LinkedIn is pressed.

use super::check::in_range;
use super::error::{invalid, ConfigError};
use crate::domain::ExpiryPolicy;
use chrono::Duration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawRefresh {
    /// 1 to 365.
    pub refresh_after_days: u64,
    /// 0 to 720.
    pub safety_margin_hours: u64,
    /// 1 to 1024.
    pub concurrency: u64,
    /// 1 to 10000.
    pub batch_size: u64,
    /// 1 to 100000.
    pub rate_per_second: u64,
    /// 1 to 20.
    pub max_attempts: u64,
    /// 1 to 600000.
    pub retry_initial_ms: u64,
    /// 1 to 3600.
    pub retry_max_total_seconds: u64,
    /// 1 to 86400.
    pub lease_seconds: u64,
    /// 1 to 36500.
    pub log_retention_days: u64,
    /// 1 to 10000.
    pub breaker_window: u64,
    /// 1 to 100.
    pub breaker_failure_percent: u64,
    /// 1 to 60.
    pub max_rejected_slots: u64,
}

impl Default for RawRefresh {
    fn default() -> Self {
        Self {
            refresh_after_days: 50,
            safety_margin_hours: 72,
            concurrency: 8,
            batch_size: 200,
            rate_per_second: 20,
            max_attempts: 4,
            retry_initial_ms: 1000,
            retry_max_total_seconds: 60,
            lease_seconds: 600,
            log_retention_days: 90,
            breaker_window: 20,
            breaker_failure_percent: 80,
            max_rejected_slots: 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RefreshSettings {
    pub expiry: ExpiryPolicy,
    /// Refreshes in flight at once.
    pub concurrency: usize,
    /// Due accounts claimed per database round trip.
    pub batch_size: i64,
    /// Calls to LinkedIn's token endpoint per second, across all workers of this process.
    pub rate_per_second: u32,
    /// Tries per account within one sweep (the first call included).
    pub max_attempts: u32,
    pub retry_initial: std::time::Duration,
    /// No account is retried for longer than this within one sweep.
    pub retry_max_total: std::time::Duration,
    /// How long a claim on an account lasts before another process may take it over.
    pub lease: Duration,
    pub log_retention: Duration,
    /// The circuit breaker looks at this many recent calls...
    pub breaker_window: usize,
    /// ...and ends the sweep when this share of them failed transiently.
    pub breaker_failure_ratio: f64,
    /// Consecutive slots in which LinkedIn refuses one account with an answer it does not
    /// document before that account's member is asked to reconnect.
    pub max_rejected_slots: u32,
}

impl TryFrom<RawRefresh> for RefreshSettings {
    type Error = ConfigError;

    fn try_from(r: RawRefresh) -> Result<Self, ConfigError> {
        if r.refresh_after_days == 0 || r.refresh_after_days > 365 {
            return Err(invalid("refresh.refresh_after_days", "expected 1 to 365"));
        }
        if r.safety_margin_hours > 24 * 30 {
            return Err(invalid("refresh.safety_margin_hours", "expected 0 to 720"));
        }
        Ok(Self {
            expiry: ExpiryPolicy {
                refresh_after: Duration::days(r.refresh_after_days as i64),
                safety_margin: Duration::hours(r.safety_margin_hours as i64),
            },
            concurrency: in_range("refresh.concurrency", r.concurrency, 1024)? as usize,
            batch_size: in_range("refresh.batch_size", r.batch_size, 10_000)? as i64,
            rate_per_second: in_range("refresh.rate_per_second", r.rate_per_second, 100_000)?
                as u32,
            max_attempts: in_range("refresh.max_attempts", r.max_attempts, 20)? as u32,
            retry_initial: std::time::Duration::from_millis(in_range(
                "refresh.retry_initial_ms",
                r.retry_initial_ms,
                600_000,
            )?),
            retry_max_total: std::time::Duration::from_secs(in_range(
                "refresh.retry_max_total_seconds",
                r.retry_max_total_seconds,
                3600,
            )?),
            lease: Duration::seconds(
                in_range("refresh.lease_seconds", r.lease_seconds, 86_400)? as i64
            ),
            log_retention: Duration::days(in_range(
                "refresh.log_retention_days",
                r.log_retention_days,
                36_500,
            )? as i64),
            breaker_window: in_range("refresh.breaker_window", r.breaker_window, 10_000)? as usize,
            breaker_failure_ratio: in_range(
                "refresh.breaker_failure_percent",
                r.breaker_failure_percent,
                100,
            )? as f64
                / 100.0,
            max_rejected_slots: in_range("refresh.max_rejected_slots", r.max_rejected_slots, 60)?
                as u32,
        })
    }
}

/// The section as printed.
impl From<&RefreshSettings> for RawRefresh {
    fn from(r: &RefreshSettings) -> Self {
        Self {
            refresh_after_days: r.expiry.refresh_after.num_days() as u64,
            safety_margin_hours: r.expiry.safety_margin.num_hours() as u64,
            concurrency: r.concurrency as u64,
            batch_size: r.batch_size as u64,
            rate_per_second: u64::from(r.rate_per_second),
            max_attempts: u64::from(r.max_attempts),
            retry_initial_ms: r.retry_initial.as_millis() as u64,
            retry_max_total_seconds: r.retry_max_total.as_secs(),
            lease_seconds: r.lease.num_seconds() as u64,
            log_retention_days: r.log_retention.num_days() as u64,
            breaker_window: r.breaker_window as u64,
            breaker_failure_percent: (r.breaker_failure_ratio * 100.0).round() as u64,
            max_rejected_slots: u64::from(r.max_rejected_slots),
        }
    }
}
