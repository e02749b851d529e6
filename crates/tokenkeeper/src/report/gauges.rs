//! The success report as Prometheus gauges (`tokenkeeper_report_*`), over the last
//! [`GAUGE_WINDOW`], and the latest report for whoever shows it next. `serve` recomputes them
//! after each sweep it runs and every few minutes (`workers/report_gauges.rs`): sweeps of other
//! instances and emails change the figures too. Each provider's figures are gauges of their
//! own (`tokenkeeper_report_provider_*{provider}`), beside the totals, which keep their series.

use super::{ByProvider, Lookback, SuccessReport};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The window the gauges cover: a month, the report's default.
pub const GAUGE_WINDOW: Lookback = Lookback::days(30);

/// How often the gauges are recomputed when no sweep runs here.
pub const GAUGE_REFRESH: Duration = Duration::from_secs(5 * 60);

/// The latest report computed for the gauges, with how many of this process's sweeps had
/// finished before it was computed; `None` until the first one.
#[derive(Clone)]
pub struct LatestReport(watch::Sender<Option<(u64, Arc<SuccessReport>)>>);

impl Default for LatestReport {
    fn default() -> Self {
        Self(watch::Sender::new(None))
    }
}

impl LatestReport {
    pub fn get(&self) -> Option<Arc<SuccessReport>> {
        self.0.borrow().as_ref().map(|(_, report)| report.clone())
    }

    /// Completes with the first report computed after this process's `sweeps`th sweep had
    /// finished: a test waits for the gauges of a sweep without sleeping.
    pub async fn wait_after_sweeps(&self, sweeps: u64) -> Arc<SuccessReport> {
        let mut changes = self.0.subscribe();
        let seen = changes
            .wait_for(|latest| latest.as_ref().is_some_and(|(after, _)| *after >= sweeps))
            .await
            .expect("the sender lives in this value");
        seen.as_ref()
            .map(|(_, r)| r.clone())
            .expect("waited for a report")
    }

    pub(crate) fn publish(&self, after_sweeps: u64, report: SuccessReport) {
        self.0.send_replace(Some((after_sweeps, Arc::new(report))));
    }
}

/// Sets every gauge from `r`. A share or median that is undefined (nothing due, no reconnect)
/// is NaN rather than a misleading zero.
pub fn export(r: &SuccessReport) {
    use metrics::gauge;
    let count = |n: i64| n as f64;
    gauge!("tokenkeeper_report_window_seconds").set(count((r.until - r.since).num_seconds()));
    gauge!("tokenkeeper_report_updated_timestamp_seconds").set(count(r.until.timestamp()));
    gauge!("tokenkeeper_report_due_accounts").set(count(r.due_accounts));
    gauge!("tokenkeeper_report_refreshed_automatically_accounts")
        .set(count(r.refreshed_automatically));
    gauge!("tokenkeeper_report_kept_alive_ratio").set(r.kept_alive_share.unwrap_or(f64::NAN));
    gauge!("tokenkeeper_report_reconnect_episodes", "event" => "opened")
        .set(count(r.reconnect_episodes_opened));
    gauge!("tokenkeeper_report_reconnect_episodes", "event" => "closed")
        .set(count(r.reconnect_episodes_closed));
    gauge!("tokenkeeper_report_median_time_to_reconnect_seconds").set(
        r.median_time_to_reconnect_seconds
            .map_or(f64::NAN, |s| s as f64),
    );
    gauge!("tokenkeeper_report_emails", "stage" => "sent").set(count(r.emails_sent));
    gauge!("tokenkeeper_report_emails", "stage" => "link_opened").set(count(r.emails_link_opened));
    gauge!("tokenkeeper_report_emails", "stage" => "reconnected").set(count(r.emails_reconnected));
    gauge!("tokenkeeper_report_accounts_lost").set(count(r.accounts_lost));
    gauge!("tokenkeeper_report_reconnections_avoided").set(count(r.reconnections_avoided));
    gauge!("tokenkeeper_report_sweeps", "outcome" => "started").set(count(r.sweeps_started));
    gauge!("tokenkeeper_report_sweeps", "outcome" => "completed").set(count(r.sweeps_completed));
}

/// Sets each provider's gauges from `by_provider`: the totals' figures but sweeps, labelled
/// with the provider. A provider the report no longer lists (its last account deleted, no
/// event in the window) keeps its last values until the process restarts.
pub fn export_by_provider(by_provider: &ByProvider) {
    use metrics::gauge;
    let count = |n: i64| n as f64;
    for (provider, p) in by_provider {
        let provider = provider.to_string();
        let labelled = |name: &'static str| gauge!(name, "provider" => provider.clone());
        labelled("tokenkeeper_report_provider_accounts").set(count(p.accounts));
        labelled("tokenkeeper_report_provider_due_accounts").set(count(p.due_accounts));
        labelled("tokenkeeper_report_provider_refreshed_automatically_accounts")
            .set(count(p.refreshed_automatically));
        labelled("tokenkeeper_report_provider_kept_alive_ratio")
            .set(p.kept_alive_share.unwrap_or(f64::NAN));
        labelled("tokenkeeper_report_provider_median_time_to_reconnect_seconds").set(
            p.median_time_to_reconnect_seconds
                .map_or(f64::NAN, |s| s as f64),
        );
        labelled("tokenkeeper_report_provider_accounts_lost").set(count(p.accounts_lost));
        labelled("tokenkeeper_report_provider_reconnections_avoided")
            .set(count(p.reconnections_avoided));
        for (event, n) in [
            ("opened", p.reconnect_episodes_opened),
            ("closed", p.reconnect_episodes_closed),
        ] {
            gauge!("tokenkeeper_report_provider_reconnect_episodes",
                "provider" => provider.clone(), "event" => event)
            .set(count(n));
        }
        for (stage, n) in [
            ("sent", p.emails_sent),
            ("link_opened", p.emails_link_opened),
            ("reconnected", p.emails_reconnected),
        ] {
            gauge!("tokenkeeper_report_provider_emails",
                "provider" => provider.clone(), "stage" => stage)
            .set(count(n));
        }
    }
}
