//! Asking a row's provider about its tokens: introspection when the row leaves the expiry out
//! and the provider can introspect (LinkedIn, Facebook), userinfo when it leaves the member
//! out, or the expiry where the provider cannot introspect (whether it still takes the token
//! is then all it can tell). Paced by the same limiter as the sweep's refreshes, retried only
//! on failures that may pass (both only read, so asking again is always safe), honouring a
//! 429's Retry-After within the sweep's own retry budget.

use crate::config::RefreshSettings;
use crate::domain::{AccessToken, ExpiryPolicy, MemberId, ProviderName};
use crate::provider::{
    Failure, FailureClass, Introspection, NotConfigured, Provider, ProviderError, Providers,
};
use crate::refresh::Pacing;
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use tokio::time::Instant;

#[derive(Clone)]
pub struct TokenLookups {
    /// Each row is asked through the provider it names.
    pub providers: Providers,
    pub pacing: Arc<Pacing>,
    pub settings: RefreshSettings,
}

/// Whose tokens a row holds, as its provider's userinfo tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Member(MemberId),
    /// The provider no longer takes the access token (401), so it cannot say whose it is.
    TokenRefused,
}

impl TokenLookups {
    /// The provider a row names, if it is configured.
    pub fn provider(&self, name: &ProviderName) -> Result<&Arc<dyn Provider>, NotConfigured> {
        self.providers.named(name)
    }

    /// When an imported account's next refresh falls due: its provider's policy under the
    /// operator's `[refresh]` settings.
    pub fn expiry_policy(&self, provider: &dyn Provider) -> ExpiryPolicy {
        provider.expiry_policy(self.settings.expiry())
    }

    /// Asked only of a provider that can introspect (`Capabilities::introspection`).
    pub async fn introspect(
        &self,
        provider: &dyn Provider,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<Introspection, ProviderError> {
        self.paced(provider.name(), "introspection", || {
            provider.introspect(token, now)
        })
        .await
    }

    /// Asks userinfo with the token itself. A 401 is the provider's answer, not a failure; a
    /// 403 is about this token (its scopes), never about our client.
    pub async fn holder(
        &self,
        provider: &dyn Provider,
        token: &AccessToken,
    ) -> Result<Holder, ProviderError> {
        match self
            .paced(provider.name(), "userinfo", || {
                provider.identify_token(token)
            })
            .await
        {
            Ok(identity) => MemberId::parse(&identity.subject)
                .map(Holder::Member)
                .map_err(|_| {
                    ProviderError::new(
                        provider.display_name(),
                        Failure::Malformed("userinfo's sub is no member id".into()),
                    )
                }),
            Err(error) if error.http_status() == Some(401) => Ok(Holder::TokenRefused),
            Err(error) if error.http_status() == Some(403) => {
                Err(error.reclassified(FailureClass::Rejected))
            }
            Err(error) => Err(error),
        }
    }

    async fn paced<T, F, Fut>(
        &self,
        network: &ProviderName,
        endpoint: &'static str,
        call: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_initial)
            .with_max_delay(self.settings.retry_max_total)
            .with_jitter()
            .with_max_times(self.settings.max_attempts.saturating_sub(1) as usize)
            .build();
        let started = Instant::now();
        loop {
            self.pacing.ready(network).await;
            let error = match call().await {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            if error.not_offered().is_some() {
                // Not a call that failed: there was nothing to call.
                return Err(error);
            }
            metrics::counter!("tokenkeeper_import_lookup_failures_total", "endpoint" => endpoint)
                .increment(1);
            if error.class() != FailureClass::Transient {
                return Err(error);
            }
            let next = delays.next().map(|backoff| {
                error
                    .retry_after()
                    .map_or(backoff, |asked| asked.max(backoff))
            });
            if error.is_rate_limited() {
                // Everyone who calls this network pauses, refreshes included.
                self.pacing
                    .slow_down(network, next.unwrap_or(self.settings.retry_initial));
            }
            match next {
                Some(delay) if started.elapsed() + delay <= self.settings.retry_max_total => {
                    tracing::info!(error = %error, retry_in = ?delay, endpoint, "a lookup failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(error),
            }
        }
    }
}
