//! Asking LinkedIn about imported tokens: paced by the same limiter as the sweep's refreshes,
//! retried only on failures that may pass (introspection changes nothing, so asking again is
//! always safe), honouring a 429's Retry-After within the sweep's own retry budget.

use crate::config::RefreshSettings;
use crate::domain::AccessToken;
use crate::linkedin::{FailureClass, Introspection, LinkedInClient, LinkedInError};
use crate::refresh::Pacing;
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::time::Instant;

#[derive(Clone)]
pub struct Introspector {
    pub linkedin: LinkedInClient,
    pub pacing: Arc<Pacing>,
    pub settings: RefreshSettings,
}

impl Introspector {
    pub async fn introspect(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, LinkedInError> {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_initial)
            .with_max_delay(self.settings.retry_max_total)
            .with_jitter()
            .with_max_times(self.settings.max_attempts.saturating_sub(1) as usize)
            .build();
        let started = Instant::now();
        loop {
            self.pacing.ready().await;
            let error = match self.linkedin.introspect(token, now).await {
                Ok(seen) => return Ok(seen),
                Err(error) => error,
            };
            metrics::counter!("tokenkeeper_import_introspection_failures_total").increment(1);
            if error.class() != FailureClass::Transient {
                return Err(error);
            }
            let next = delays.next().map(|backoff| {
                error
                    .retry_after()
                    .map_or(backoff, |asked| asked.max(backoff))
            });
            if let LinkedInError::RateLimited { .. } = error {
                // Everyone who calls LinkedIn pauses, refreshes included.
                self.pacing
                    .slow_down(next.unwrap_or(self.settings.retry_initial));
            }
            match next {
                Some(delay) if started.elapsed() + delay <= self.settings.retry_max_total => {
                    tracing::info!(error = %error, retry_in = ?delay, "introspection failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(error),
            }
        }
    }
}
