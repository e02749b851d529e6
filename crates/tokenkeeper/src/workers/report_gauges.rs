//! Keeps the success report's gauges current: recomputed after each sweep this process runs
//! and every [`GAUGE_REFRESH`](crate::report::GAUGE_REFRESH) besides.

use crate::domain::Clock;
use crate::report::{
    export, export_by_provider, LatestReport, ProviderFigures, SuccessReport, GAUGE_WINDOW,
};
use crate::store::{ReportStore, Window};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The task that keeps the gauges current. It returns only if the process's sweeps can no
/// longer be watched and the ticks stop, which they do not: the supervisor restarts it if so.
pub struct ReportGauges {
    pub store: Arc<dyn ReportStore>,
    pub clock: Arc<dyn Clock>,
    pub every: Duration,
    /// Changes each time a sweep of this process finishes.
    pub sweeps: watch::Receiver<u64>,
    pub latest: LatestReport,
}

impl ReportGauges {
    pub async fn run(mut self) {
        let first = tokio::time::Instant::now() + self.every;
        let mut ticks = tokio::time::interval_at(first, self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.update().await;
            tokio::select! {
                _ = ticks.tick() => {}
                Ok(()) = self.sweeps.changed() => {}
            }
        }
    }

    /// Recomputes the report and sets the gauges; a failure is logged, and the gauges keep
    /// their last values (`tokenkeeper_report_updated_timestamp_seconds` shows how old).
    async fn update(&mut self) {
        // Read before the database: the report reflects at least these sweeps.
        let after_sweeps = *self.sweeps.borrow_and_update();
        let until = self.clock.now();
        let window = Window {
            since: until - GAUGE_WINDOW.duration(),
            until,
        };
        // Each provider's gauges first: whoever sees the report published sees them set too.
        match ProviderFigures::compute(self.store.as_ref(), window).await {
            Ok(by_provider) => export_by_provider(&by_provider),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "computing the success report per provider failed; its gauges keep their last values")
            }
        }
        match SuccessReport::compute(self.store.as_ref(), window).await {
            Ok(report) => {
                export(&report);
                self.latest.publish(after_sweeps, report);
            }
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "computing the success report failed; its gauges keep their last values")
            }
        }
    }
}
