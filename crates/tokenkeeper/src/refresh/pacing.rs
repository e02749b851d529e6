//! How fast we may call LinkedIn: a steady rate for everyone, and after a 429 a pause that
//! every worker observes, not only the one that was told to slow down.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

pub struct Pacing {
    limiter: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacing {
    pub fn new(rate_per_second: u32) -> Self {
        let rate = NonZeroU32::new(rate_per_second).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::direct(Quota::per_second(rate)),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until this worker may make its next call.
    pub async fn ready(&self) {
        loop {
            let pause = *self.paused_until.lock().expect("pacing lock");
            match pause {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        self.limiter.until_ready().await;
    }

    /// LinkedIn said 429: nobody calls again before `for_at_least` has passed.
    pub fn slow_down(&self, for_at_least: Duration) {
        let Some(until) = Instant::now().checked_add(for_at_least) else {
            return;
        };
        let mut paused = self.paused_until.lock().expect("pacing lock");
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

    async fn waited(pacing: &Pacing) -> Duration {
        let started = Instant::now();
        pacing.ready().await;
        started.elapsed()
    }

    #[tokio::test]
    async fn after_a_429_nobody_calls_before_the_pause_ends() {
        let pacing = Pacing::new(1000);
        pacing.slow_down(LONG);
        assert!(waited(&pacing).await >= LONG);
    }

    #[tokio::test]
    async fn a_longer_pause_extends_a_shorter_one_never_the_reverse() {
        let pacing = Pacing::new(1000);
        pacing.slow_down(SHORT);
        pacing.slow_down(LONG);
        assert!(waited(&pacing).await >= LONG);
        let pacing = Pacing::new(1000);
        pacing.slow_down(LONG);
        pacing.slow_down(SHORT);
        assert!(waited(&pacing).await >= LONG);
    }
}
