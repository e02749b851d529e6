//! The database's part of readiness, shared by every caller: `/readyz` answers anyone on the
//! public listener, so however many ask, the database sees at most one round trip per
//! `CHECK_INTERVAL` from it. Callers within that time of a check's start share its verdict,
//! waiting for it while it runs; a check runs in a task of its own, so a caller that goes away
//! does not cut it short for the others (nor make the next caller start another).

use super::Verdict;
use crate::store::HealthStore;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A database that takes longer than this for `SELECT 1` is as good as unreachable to a
/// load balancer deciding where to send the next request.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// A check's verdict stands this long: a probe is answered from it, not from a new round trip.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct DatabaseCheck {
    store: Arc<dyn HealthStore>,
    latest: Arc<Mutex<Option<Check>>>,
}

/// The last check started: when, and its verdict once it has one.
struct Check {
    started: Instant,
    verdict: watch::Receiver<Option<Verdict>>,
}

impl DatabaseCheck {
    pub fn new(store: Arc<dyn HealthStore>) -> Self {
        Self {
            store,
            latest: Arc::new(Mutex::new(None)),
        }
    }

    /// The verdict of the last check when it started less than `CHECK_INTERVAL` ago (once it
    /// has one); else of a new check. A database slower than that interval may thus have two
    /// checks in flight, never more than one started per interval.
    pub async fn verdict(&self) -> Verdict {
        let mut verdict = self.current_or_new();
        let answered = verdict
            .wait_for(Option::is_some)
            .await
            .map(|verdict| verdict.clone());
        match answered {
            Ok(Some(verdict)) => verdict,
            _ => Verdict::Failing("the check ended without an answer".into()),
        }
    }

    fn current_or_new(&self) -> watch::Receiver<Option<Verdict>> {
        // Held for no await: looking and starting are one step, so two callers never both start.
        let mut latest = self
            .latest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(check) = latest.as_ref() {
            if check.started.elapsed() < CHECK_INTERVAL {
                return check.verdict.clone();
            }
        }
        let (answer, verdict) = watch::channel(None);
        let store = self.store.clone();
        metrics::counter!("tokenkeeper_readiness_database_checks_total").increment(1);
        tokio::spawn(async move {
            answer.send_replace(Some(round_trip(store.as_ref()).await));
        });
        *latest = Some(Check {
            started: Instant::now(),
            verdict: verdict.clone(),
        });
        verdict
    }
}

async fn round_trip(store: &dyn HealthStore) -> Verdict {
    match tokio::time::timeout(DATABASE_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => Verdict::Ok("ok".into()),
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "readiness: the database did not answer");
            Verdict::Failing("unreachable".into())
        }
        Err(_) => Verdict::Failing(format!("no answer within {}s", DATABASE_TIMEOUT.as_secs())),
    }
}
