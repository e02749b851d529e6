//! Each provider's part of one sweep: its own circuit breaker and its own early stop. A network
//! that is down, throttles us beyond what the sweep can wait for, or refuses our client stops
//! its own accounts only; the sweep goes on with the others' and the run's outcome names it.

use super::breaker::CircuitBreaker;
use crate::domain::ProviderName;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Why a provider's part of a sweep stops early. Here, with the lanes that hold it, so that
/// `shared` (which holds the lanes) and this module do not import each other.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Our credentials or our requests are wrong: the run fails and the operator must act.
    Misconfigured(String),
    /// The network is failing or throttling us beyond what this sweep can wait for: its
    /// accounts are caught up at the next slot.
    Degraded(String),
}

/// The lanes of one sweep, made as its accounts' providers come up.
pub struct Lanes {
    /// The whole sweep's: cancelling it stops every lane.
    sweep: CancellationToken,
    breaker_window: usize,
    breaker_failure_ratio: f64,
    lanes: Mutex<BTreeMap<ProviderName, Arc<Lane>>>,
}

/// One provider's part of a sweep.
pub struct Lane {
    /// Judges this provider's calls alone.
    pub breaker: CircuitBreaker,
    /// Cancelled when this provider's part stops, or the whole sweep does: its calls in flight
    /// and pauses are abandoned, and its accounts released untouched.
    pub halt: CancellationToken,
    why: Mutex<Why>,
}

/// Why a lane stopped: the first reason of each kind.
#[derive(Debug, Clone, Default)]
struct Why {
    misconfigured: Option<String>,
    degraded: Option<String>,
}

impl Lanes {
    pub fn new(
        sweep: &CancellationToken,
        breaker_window: usize,
        breaker_failure_ratio: f64,
    ) -> Self {
        Self {
            sweep: sweep.clone(),
            breaker_window,
            breaker_failure_ratio,
            lanes: Mutex::default(),
        }
    }

    /// `provider`'s lane.
    pub fn of(&self, provider: &ProviderName) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().expect("lanes lock");
        lanes
            .entry(provider.clone())
            .or_insert_with(|| {
                Arc::new(Lane {
                    breaker: CircuitBreaker::new(self.breaker_window, self.breaker_failure_ratio),
                    halt: self.sweep.child_token(),
                    why: Mutex::default(),
                })
            })
            .clone()
    }

    /// The providers whose part of the sweep has stopped: no more of their accounts are
    /// claimed.
    pub fn stopped(&self) -> Vec<ProviderName> {
        let lanes = self.lanes.lock().expect("lanes lock");
        lanes
            .iter()
            .filter(|(_, lane)| lane.stopping())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The providers that refused our client, with the first reason each, by name.
    pub fn misconfigured(&self) -> Vec<(ProviderName, String)> {
        self.reasons(|why| why.misconfigured.clone())
    }

    /// The providers that were down or throttled us too long (and did not refuse our client),
    /// with the first reason each, by name.
    pub fn degraded(&self) -> Vec<(ProviderName, String)> {
        self.reasons(|why| match why.misconfigured {
            Some(_) => None,
            None => why.degraded.clone(),
        })
    }

    /// Whether `provider` refused our client in this sweep.
    pub fn is_misconfigured(&self, provider: &ProviderName) -> bool {
        let lanes = self.lanes.lock().expect("lanes lock");
        lanes
            .get(provider)
            .is_some_and(|lane| lane.why.lock().expect("lane lock").misconfigured.is_some())
    }

    fn reasons(&self, reason: impl Fn(&Why) -> Option<String>) -> Vec<(ProviderName, String)> {
        let lanes = self.lanes.lock().expect("lanes lock");
        lanes
            .iter()
            .filter_map(|(name, lane)| {
                let why = lane.why.lock().expect("lane lock");
                reason(&why).map(|r| (name.clone(), r))
            })
            .collect()
    }
}

impl Lane {
    pub fn stopping(&self) -> bool {
        self.halt.is_cancelled()
    }

    /// Stops this provider's part of the sweep; `None` when there is nothing to report (its
    /// accounts are merely left for later).
    pub fn stop(&self, why: Option<Stop>) {
        {
            let mut recorded = self.why.lock().expect("lane lock");
            match why {
                Some(Stop::Misconfigured(message)) => {
                    recorded.misconfigured.get_or_insert(message);
                }
                Some(Stop::Degraded(message)) => {
                    recorded.degraded.get_or_insert(message);
                }
                None => {}
            }
        }
        self.halt.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ProviderName {
        ProviderName::parse(s).unwrap()
    }

    #[test]
    fn a_stopped_lane_leaves_the_others_running() {
        let sweep = CancellationToken::new();
        let lanes = Lanes::new(&sweep, 5, 0.8);
        let (linkedin, x) = (lanes.of(&name("linkedin")), lanes.of(&name("x")));
        linkedin.stop(Some(Stop::Degraded("down".into())));
        assert!(linkedin.stopping());
        assert!(!x.stopping());
        assert_eq!(lanes.stopped(), vec![name("linkedin")]);
        assert_eq!(lanes.degraded(), vec![(name("linkedin"), "down".into())]);
        assert!(lanes.misconfigured().is_empty());
        // The whole sweep stopping stops every lane.
        sweep.cancel();
        assert!(x.stopping());
    }

    #[test]
    fn a_refused_client_outweighs_an_outage_of_the_same_provider() {
        let lanes = Lanes::new(&CancellationToken::new(), 5, 0.8);
        let x = lanes.of(&name("x"));
        x.stop(Some(Stop::Degraded("down".into())));
        x.stop(Some(Stop::Misconfigured("invalid_client".into())));
        assert!(lanes.is_misconfigured(&name("x")));
        assert!(!lanes.is_misconfigured(&name("linkedin")));
        assert!(lanes.degraded().is_empty());
        assert_eq!(
            lanes.misconfigured(),
            vec![(name("x"), "invalid_client".into())]
        );
    }
}
