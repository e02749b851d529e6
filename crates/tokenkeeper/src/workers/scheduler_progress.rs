//! How far the scheduler has got: the slot it owes (the next one it has not started) and the
//! last one it started. `/readyz` compares the owed slot with the clock; the same two instants
//! are exported as gauges, so an alert rule can do the same comparison.

use chrono::{DateTime, Utc};
use tokio::sync::watch;

#[derive(Clone)]
pub struct SchedulerProgress(watch::Sender<Option<DateTime<Utc>>>);

impl Default for SchedulerProgress {
    fn default() -> Self {
        Self(watch::Sender::new(None))
    }
}

impl SchedulerProgress {
    /// The scheduler will start `slot` next (it may lie in the past: a missed slot to catch up).
    pub fn owe(&self, slot: DateTime<Utc>) {
        metrics::gauge!("tokenkeeper_scheduler_next_slot_timestamp_seconds")
            .set(slot.timestamp() as f64);
        self.0.send_replace(Some(slot));
    }

    /// The scheduler starts `slot`; it then owes `next`, the slot after it.
    pub fn started(&self, slot: DateTime<Utc>, next: Option<DateTime<Utc>>) {
        metrics::gauge!("tokenkeeper_scheduler_last_slot_timestamp_seconds")
            .set(slot.timestamp() as f64);
        if let Some(next) = next {
            self.owe(next);
        }
    }

    /// The slot the scheduler owes; `None` before it has looked at the clock once.
    pub fn owed(&self) -> Option<DateTime<Utc>> {
        *self.0.borrow()
    }

    /// Completes once the owed slot satisfies `ready`: a test waits for the scheduler without
    /// sleeping.
    pub async fn wait_for(&self, mut ready: impl FnMut(Option<DateTime<Utc>>) -> bool) {
        let mut changes = self.0.subscribe();
        let _ = changes.wait_for(|owed| ready(*owed)).await;
    }
}
