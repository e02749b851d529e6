//! The success report: whether tokenkeeper does what it is for. It answers the product's own
//! measures of success (fewer manual reconnections, fewer members lost) from what the service
//! already records: `refresh_log`, `sweep_runs`, the outbox and the accounts. `tokenkeeper
//! report` prints it, `serve` exports it as gauges; both compute it here, so they agree.

mod gauges;
mod json;
mod lookback;
mod providers;
mod text;

pub use gauges::{export, export_by_provider, LatestReport, GAUGE_REFRESH, GAUGE_WINDOW};
pub use json::render_json;
pub use lookback::{Lookback, LookbackError};
pub use providers::{several_providers, ByProvider, ProviderFigures};
pub use text::{figures, render_text};

use crate::store::{ReportStore, StoreError, Window};
use serde::Serialize;

/// The median is taken over the latest this many reconnects of the window: enough for any
/// real fleet's month, and a bound on what one report reads.
pub const MEDIAN_SAMPLE: i64 = 100_000;

/// The figures over one window `(since, until]`. Each counts events whose instant falls in
/// the window; what became of them afterwards (an email's link opened later) counts as of
/// `until`'s reading of the database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuccessReport {
    pub since: chrono::DateTime<chrono::Utc>,
    pub until: chrono::DateTime<chrono::Utc>,
    /// Accounts a sweep found due for a refresh in the window (a `refresh_log` row written by
    /// a sweep run), each counted once however many slots it took.
    pub due_accounts: i64,
    /// Of the due accounts, those a sweep refreshed in the window: kept alive without their
    /// member doing anything.
    pub refreshed_automatically: i64,
    /// `refreshed_automatically / due_accounts`; `None` when nothing was due.
    pub kept_alive_share: Option<f64>,
    /// Reconnect episodes opened: accounts that moved to `needs_reconnect` in the window (the
    /// `reconnect_required` or `reconnect_due` email is written with that change), one per
    /// account and episode.
    pub reconnect_episodes_opened: i64,
    /// Reconnect episodes closed: episodes whose member connected again in the window,
    /// whenever they opened.
    pub reconnect_episodes_closed: i64,
    /// The median, over the episodes closed in the window, of the time from the opening email
    /// being written to the member connecting again, in whole seconds (the mean of the two
    /// middle ones for an even count); `None` when none closed.
    pub median_time_to_reconnect_seconds: Option<i64>,
    /// Emails sent in the window (every kind).
    pub emails_sent: i64,
    /// Of those, emails after which the member opened a connect link (the emailed one or any
    /// other for the same user) before reconnecting.
    pub emails_link_opened: i64,
    /// Of those, emails after which the member connected again.
    pub emails_reconnected: i64,
    /// Accounts lost: waiting for their member (`needs_reconnect` or `expired`), whose access
    /// token died in the window, and that have not reconnected since.
    pub accounts_lost: i64,
    /// The reconnections members would have done by hand without tokenkeeper: each successful
    /// refresh in the window (by a sweep or on demand) replaced an access token that would
    /// have died at its 60-day end, which without a refresh only the member can replace by
    /// connecting again.
    pub reconnections_avoided: i64,
    /// Sweeps started in the window, and of them those that completed (not degraded, failed
    /// or interrupted).
    pub sweeps_started: i64,
    pub sweeps_completed: i64,
}

impl SuccessReport {
    /// Reads the figures of `window` from the database.
    pub async fn compute<S: ReportStore + ?Sized>(
        store: &S,
        window: Window,
    ) -> Result<Self, StoreError> {
        let counts = store.report_counts(window).await?;
        let episodes = store.closed_episodes(window, MEDIAN_SAMPLE).await?;
        let mut seconds: Vec<i64> = episodes
            .iter()
            .map(|e| (e.reconnected_at - e.opened_at).num_seconds())
            .collect();
        Ok(Self {
            since: window.since,
            until: window.until,
            due_accounts: counts.due_accounts,
            refreshed_automatically: counts.refreshed_accounts,
            kept_alive_share: share(counts.refreshed_accounts, counts.due_accounts),
            reconnect_episodes_opened: counts.episodes_opened,
            reconnect_episodes_closed: counts.episodes_closed,
            median_time_to_reconnect_seconds: median(&mut seconds),
            emails_sent: counts.emails_sent,
            emails_link_opened: counts.emails_link_opened,
            emails_reconnected: counts.emails_reconnected,
            accounts_lost: counts.accounts_lost,
            reconnections_avoided: counts.refreshes,
            sweeps_started: counts.sweeps,
            sweeps_completed: counts.sweeps_completed,
        })
    }
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The middle value, or the mean of the two middle ones (rounded down); `None` for none.
fn median(values: &mut [i64]) -> Option<i64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]).div_euclid(2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [10, 1, 4, 100]), Some(7));
        assert_eq!(median(&mut [3, 4]), Some(3));
    }

    #[test]
    fn the_share_is_undefined_when_nothing_was_due() {
        assert_eq!(share(0, 0), None);
        assert_eq!(share(3, 4), Some(0.75));
    }
}
