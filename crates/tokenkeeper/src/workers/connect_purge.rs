//! Deletes what the connect flow leaves behind once it is worthless: expired sign-in attempts
//! and the used-marks of links past their expiry. It runs in the background, through the
//! expiry indexes, so that no unauthenticated request ever pays for a table scan.

use crate::domain::Clock;
use crate::store::ConnectStore;
use crate::telemetry::error_chain;
use std::sync::Arc;
use std::time::Duration;

pub struct ConnectPurger {
    pub store: Arc<dyn ConnectStore>,
    pub clock: Arc<dyn Clock>,
    pub every: Duration,
}

impl ConnectPurger {
    /// Purges every `every` until the task is dropped. A failed purge is logged and tried
    /// again at the next tick: leftovers are harmless, only untidy.
    pub async fn run(self) {
        let first = tokio::time::Instant::now() + self.every;
        let mut ticks = tokio::time::interval_at(first, self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self
                .store
                .purge_expired_connect_state(self.clock.now())
                .await
            {
                Ok(purged) => {
                    if purged.attempts > 0 || purged.used_links > 0 {
                        tracing::debug!(
                            attempts = purged.attempts,
                            used_links = purged.used_links,
                            "expired connect state purged"
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "purging expired connect state failed")
                }
            }
        }
    }
}
