//! What runs after a sweep besides refreshing. The engine only says when; the chores
//! themselves (the service's housekeeping) live with the other background work, which runs
//! sweeps and so may import this module, never the other way round.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait AfterSweep: Send + Sync {
    /// Runs once a sweep has refreshed what it could, unless it was interrupted, before its
    /// run is recorded as finished, in the sweep's span. `as_of` is the sweep's "now".
    /// Failures are the chores' to log: they never change the run's outcome.
    async fn after_sweep(&self, as_of: DateTime<Utc>);
}
