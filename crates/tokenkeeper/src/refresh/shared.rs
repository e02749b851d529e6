//! What the workers of one sweep share: the providers and their pacing, each provider's lane
//! (its circuit breaker and early stop), why the sweep stops, and the accounts held until it
//! ends. Its own module so that one account's refresh (`account`) and the sweep that runs it
//! (`sweep`) both depend on it rather than on each other.

pub use super::lanes::Stop;
use super::lanes::{Lane, Lanes};
use super::pacing::Pacing;
use crate::config::RefreshSettings;
use crate::domain::{Account, NotificationPolicy, ProviderName};
use crate::provider::{ProviderError, Providers};
use crate::store::RefreshLogEntry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What every worker of one sweep shares.
pub struct Shared {
    /// Each account is refreshed by the provider of its network.
    pub providers: Providers,
    pub settings: RefreshSettings,
    pub notify: NotificationPolicy,
    pub pacing: Arc<Pacing>,
    /// Each provider's breaker and early stop.
    pub lanes: Lanes,
    /// Cancelled when the whole sweep stops (a store error, a panic) or the process shuts
    /// down: every lane stops with it.
    pub halt: CancellationToken,
    pub panics: AtomicU64,
    /// Unexplained answers seen in this sweep, by provider and answer, with the accounts that
    /// got them.
    pub rejections: Mutex<HashMap<(ProviderName, String), HashSet<i64>>>,
    /// Accounts refused for the last allowed slot. Their reconnect episode starts only once
    /// the sweep is over and has not concluded that the refusals were about our client.
    pub escalations: Mutex<Vec<Escalation>>,
}

/// An account held (still claimed) until the end of the sweep, see `Shared::escalations`.
pub struct Escalation {
    pub account: Account,
    pub log: Vec<RefreshLogEntry>,
    pub error: String,
}

impl Shared {
    /// `halt`: stops everything this shares when cancelled (the sweep's, or the process's).
    pub fn new(
        providers: Providers,
        settings: RefreshSettings,
        notify: NotificationPolicy,
        pacing: Arc<Pacing>,
        halt: CancellationToken,
    ) -> Self {
        Self {
            lanes: Lanes::new(
                &halt,
                settings.breaker_window,
                settings.breaker_failure_ratio,
            ),
            providers,
            settings,
            notify,
            pacing,
            halt,
            panics: AtomicU64::new(0),
            rejections: Mutex::default(),
            escalations: Mutex::default(),
        }
    }

    /// Whether the whole sweep is stopping.
    pub fn stopping(&self) -> bool {
        self.halt.is_cancelled()
    }

    /// Stops the whole sweep, every provider's part of it.
    pub fn stop(&self) {
        self.halt.cancel();
    }

    /// `provider`'s part of the sweep.
    pub fn lane(&self, provider: &ProviderName) -> Arc<Lane> {
        self.lanes.of(provider)
    }

    /// Records that `account` got this unexplained answer; returns how many different
    /// accounts of the same provider got the same one in this sweep.
    pub fn rejected_by(&self, error: &ProviderError, account: &Account) -> usize {
        let mut seen = self.rejections.lock().expect("sweep lock");
        let accounts = seen
            .entry((account.provider.clone(), error.to_string()))
            .or_default();
        accounts.insert(account.id);
        accounts.len()
    }
}
