//! Keeps the public routes' rate limiter small: every so often it forgets the clients whose
//! quota is full again (`http::PublicRateLimit::forget_idle_clients`), so its memory stays
//! bounded whoever has called.

use std::sync::Arc;
use std::time::Duration;

pub struct RateLimitCleaner {
    pub every: Duration,
    pub forget_idle_clients: Arc<dyn Fn() + Send + Sync>,
}

impl RateLimitCleaner {
    /// Forgets idle clients every `every`, the first time at once, until the task is dropped.
    pub async fn run(self) {
        let mut every = tokio::time::interval(self.every);
        loop {
            every.tick().await;
            (self.forget_idle_clients)();
        }
    }
}
