//! What the workers of one sweep share: the providers and their pacing, the circuit
//! breaker, why the sweep stops, and the accounts held until it ends. Its own module so that
//! one account's refresh (`account`) and the sweep that runs it (`sweep`) both depend on it
//! rather than on each other.

use super::breaker::CircuitBreaker;
use super::pacing::Pacing;
use crate::config::RefreshSettings;
use crate::domain::{Account, NotificationPolicy};
use crate::provider::{ProviderError, Providers};
use crate::store::RefreshLogEntry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Why a sweep stops early.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Our credentials or our requests are wrong: the run fails and the operator must act.
    Misconfigured(String),
    /// LinkedIn is failing or throttling us beyond what this sweep can wait for: the rest is
    /// caught up at the next slot.
    Degraded(String),
}

/// What every worker of one sweep shares.
pub struct Shared {
    /// Each account is refreshed by the provider of its network.
    pub providers: Providers,
    pub settings: RefreshSettings,
    pub notify: NotificationPolicy,
    pub pacing: Arc<Pacing>,
    pub breaker: CircuitBreaker,
    /// Cancelled when the sweep stops for any reason (or the process shuts down): calls in
    /// flight and pauses are abandoned, and their accounts released untouched.
    pub halt: CancellationToken,
    pub misconfigured: Mutex<Option<String>>,
    pub degraded: Mutex<Option<String>>,
    pub panics: AtomicU64,
    /// Unexplained answers seen in this sweep, by answer, with the accounts that got them.
    pub rejections: Mutex<HashMap<String, HashSet<i64>>>,
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
    pub fn stopping(&self) -> bool {
        self.halt.is_cancelled()
    }

    pub fn stop(&self, why: Option<Stop>) {
        match why {
            Some(Stop::Misconfigured(message)) => {
                self.misconfigured
                    .lock()
                    .expect("sweep lock")
                    .get_or_insert(message);
            }
            Some(Stop::Degraded(message)) => {
                self.degraded
                    .lock()
                    .expect("sweep lock")
                    .get_or_insert(message);
            }
            None => {}
        }
        self.halt.cancel();
    }

    /// Records that `account_id` got this unexplained answer; returns how many different
    /// accounts got the same one in this sweep.
    pub fn rejected_by(&self, error: &ProviderError, account_id: i64) -> usize {
        let mut seen = self.rejections.lock().expect("sweep lock");
        let accounts = seen.entry(error.to_string()).or_default();
        accounts.insert(account_id);
        accounts.len()
    }
}
