//! The record of sweep runs, which doubles as the "one instance per slot" lease: a slot can be
//! started only once, whichever instance gets there first.

use super::StoreError;
use crate::domain::SweepOutcome;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepCounts {
    pub due: i64,
    pub refreshed: i64,
    pub failing: i64,
    pub needs_reconnect: i64,
    pub skipped: i64,
    /// Claimed, but their rows do not read (tokens that do not open, say): not refreshed
    /// (counted in `due` too).
    pub unreadable: i64,
}

#[derive(Debug, Clone)]
pub struct SweepRun {
    pub id: i64,
    /// The scheduled slot this run serves; `None` for a manual `tokenkeeper sweep`.
    pub slot: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub as_of: DateTime<Utc>,
    pub counts: SweepCounts,
    /// Running, or how it ended: completed, degraded, failed or interrupted.
    pub outcome: SweepOutcome,
    pub error: Option<String>,
}

#[async_trait]
pub trait RunStore: Send + Sync {
    /// Records the start of a run. For a scheduled slot, returns `None` when another instance
    /// has already started that slot.
    async fn start_run(
        &self,
        slot: Option<DateTime<Utc>>,
        started_at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    async fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        counts: &SweepCounts,
        outcome: SweepOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The latest scheduled slot any instance has started.
    async fn latest_slot(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}
