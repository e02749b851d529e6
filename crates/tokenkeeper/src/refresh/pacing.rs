//! How fast we may call each network: a steady rate for everyone calling it, and after a 429
//! a pause that every caller of that network observes, not only the one that was told to slow
//! down. Each provider keeps its own: X throttling us does not slow our calls to LinkedIn.

use crate::domain::ProviderName;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

pub struct Pacing {
    rate: NonZeroU32,
    networks: Mutex<HashMap<ProviderName, Arc<NetworkPace>>>,
}

/// One provider's rate and pause.
struct NetworkPace {
    limiter: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacing {
    /// `rate_per_second`: calls to each provider per second, across all of this process.
    pub fn new(rate_per_second: u32) -> Self {
        Self {
            rate: NonZeroU32::new(rate_per_second).unwrap_or(NonZeroU32::MIN),
            networks: Mutex::default(),
        }
    }

    fn of(&self, network: &ProviderName) -> Arc<NetworkPace> {
        let mut networks = self.networks.lock().expect("pacing lock");
        networks
            .entry(network.clone())
            .or_insert_with(|| {
                Arc::new(NetworkPace {
                    limiter: RateLimiter::direct(Quota::per_second(self.rate)),
                    paused_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Waits until this caller may make its next call to `network`.
    pub async fn ready(&self, network: &ProviderName) {
        let pace = self.of(network);
        loop {
            let pause = *pace.paused_until.lock().expect("pacing lock");
            match pause {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        pace.limiter.until_ready().await;
    }

    /// `network` said 429: nobody calls it again before `for_at_least` has passed.
    pub fn slow_down(&self, network: &ProviderName, for_at_least: Duration) {
        let Some(until) = Instant::now().checked_add(for_at_least) else {
            return;
        };
        let pace = self.of(network);
        let mut paused = pace.paused_until.lock().expect("pacing lock");
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pauses of tens of milliseconds, measured from below only: a slow machine cannot fail
    // these, a pacing that forgets to wait always does.
    const SHORT: Duration = Duration::from_millis(30);
    const LONG: Duration = Duration::from_millis(90);

    fn linkedin() -> ProviderName {
        ProviderName::parse("linkedin").unwrap()
    }

    async fn waited(pacing: &Pacing) -> Duration {
        let started = Instant::now();
        pacing.ready(&linkedin()).await;
        started.elapsed()
    }

    #[tokio::test]
    async fn after_a_429_nobody_calls_before_the_pause_ends() {
        let pacing = Pacing::new(1000);
        pacing.slow_down(&linkedin(), LONG);
        assert!(waited(&pacing).await >= LONG);
    }

    #[tokio::test]
    async fn a_longer_pause_extends_a_shorter_one_never_the_reverse() {
        let pacing = Pacing::new(1000);
        pacing.slow_down(&linkedin(), SHORT);
        pacing.slow_down(&linkedin(), LONG);
        assert!(waited(&pacing).await >= LONG);
        let pacing = Pacing::new(1000);
        pacing.slow_down(&linkedin(), LONG);
        pacing.slow_down(&linkedin(), SHORT);
        assert!(waited(&pacing).await >= LONG);
    }

    #[tokio::test]
    async fn one_networks_pause_leaves_the_others_alone() {
        let pacing = Pacing::new(1000);
        pacing.slow_down(&linkedin(), Duration::from_secs(3600));
        let x = ProviderName::parse("x").unwrap();
        // Bounded only on failure: X is not paused, so this returns at once.
        tokio::time::timeout(Duration::from_secs(30), pacing.ready(&x))
            .await
            .expect("X is not paused by LinkedIn's 429");
    }
}
