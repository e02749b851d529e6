//! The refresh engine: claim due accounts -> refresh each at LinkedIn -> write back the new
//! tokens (or the failure, with its outbox rows) -> audit. One sweep is one pass over
//! everything due; the scheduler runs a sweep per slot, `tokenkeeper sweep` runs one by hand.

mod account;
mod after_sweep;
mod breaker;
mod lanes;
mod on_demand;
mod on_read;
mod outcome;
mod pacing;
mod refresh_metrics;
mod sweep;
mod turns;
mod write_back;

mod report;
mod shared;
mod stores;

/// Stored by the run store, so it lives with the domain; sweeps' callers find it here.
pub use crate::domain::SweepOutcome;
pub use after_sweep::AfterSweep;
pub use on_demand::{Demand, OnDemand};
pub use on_read::OnRead;
pub use pacing::Pacing;
pub use report::render_report;
pub use stores::EngineStores;
pub use sweep::{DueAccount, RefreshEngine, SweepOptions, SweepReport};
