//! Runs the sweep at every slot of the schedule: a catch-up of the latest missed slot at
//! start-up, and one instance per slot (the run record is unique per slot, so only the first
//! instance to start a slot runs it).

use super::SchedulerProgress;
use crate::domain::Clock;
use crate::domain::EnumText;
use crate::domain::Schedule;
use crate::refresh::{RefreshEngine, SweepOptions};
use crate::store::RunStore;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use tokio_util::sync::CancellationToken;

/// Runs the sweep at every slot until shut down.
pub struct Scheduler {
    pub schedule: Schedule,
    pub engine: RefreshEngine,
    pub store: Arc<dyn RunStore>,
    pub clock: Arc<dyn Clock>,
    /// How often the clock is looked at while waiting for a slot. The wait is not one long
    /// sleep so that a clock that jumps (tests, a suspended laptop) is noticed promptly.
    pub tick: StdDuration,
    /// Cancelled at shutdown: the scheduler stops waiting and returns (the engine, given the
    /// same token, interrupts a running sweep).
    pub shutdown: CancellationToken,
    /// Where readiness and the metrics learn which slot the scheduler owes.
    pub progress: SchedulerProgress,
}

impl Scheduler {
    /// Returns once shut down. A sweep running then is not dropped mid-way: the engine sees
    /// the same token, interrupts it and records its run as interrupted.
    pub async fn run(self) {
        // Until the history is read, the slot owed is the latest: a catch-up may be due.
        let now = self.clock.now();
        if let Some(owed) = self
            .schedule
            .latest_at_or_before(now)
            .or_else(|| self.schedule.next_after(now))
        {
            self.progress.owe(owed);
        }
        let mut handled = match self.catch_up().await {
            Ok(handled) => handled,
            Err(e) => {
                tracing::error!(error = %crate::telemetry::error_chain(&e), "cannot read the sweep history; scheduling from now");
                self.clock.now()
            }
        };
        loop {
            let Some(next) = self.schedule.next_after(handled) else {
                tracing::warn!("the schedule has no future slot; the scheduler stops");
                return;
            };
            if self.shutdown.is_cancelled() {
                break;
            }
            self.progress.owe(next);
            tracing::info!(next_slot = %next, "next sweep scheduled");
            if !self.wait_until(next).await {
                break;
            }
            // After a long pause (a suspended machine, a clock that jumped) several slots may
            // have passed: one sweep catches up everything due, so only the latest runs.
            let slot = self
                .schedule
                .latest_at_or_before(self.clock.now())
                .map_or(next, |latest| latest.max(next));
            self.run_slot(slot).await;
            handled = slot;
        }
        tracing::info!("scheduler stopped");
    }

    /// Runs the latest slot now if no instance has run it (the process was down at the time).
    /// Returns the slot from which to schedule on.
    async fn catch_up(&self) -> Result<DateTime<Utc>, crate::store::StoreError> {
        let now = self.clock.now();
        let Some(latest) = self.schedule.latest_at_or_before(now) else {
            return Ok(now);
        };
        let last_run = self.store.latest_slot().await?;
        if last_run.is_none_or(|ran| ran < latest) {
            tracing::info!(slot = %latest, last_run = ?last_run, "catching up a missed slot");
            self.run_slot(latest).await;
        }
        Ok(latest)
    }

    /// Waits for `slot`; `false` when shut down first.
    async fn wait_until(&self, slot: DateTime<Utc>) -> bool {
        loop {
            let left = slot - self.clock.now();
            if left <= Duration::zero() {
                return true;
            }
            let nap = left.to_std().unwrap_or(self.tick).min(self.tick);
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                () = self.shutdown.cancelled() => return false,
            }
        }
    }

    async fn run_slot(&self, slot: DateTime<Utc>) {
        self.progress.started(slot, self.schedule.next_after(slot));
        let options = SweepOptions {
            as_of: None,
            dry_run: false,
            slot: Some(slot),
        };
        match self.engine.sweep(options).await {
            Ok(report) => {
                tracing::debug!(slot = %slot, outcome = report.outcome.as_str(), "slot done")
            }
            Err(e) => {
                tracing::error!(slot = %slot, error = %crate::telemetry::error_chain(&e), "the sweep could not run")
            }
        }
    }
}
