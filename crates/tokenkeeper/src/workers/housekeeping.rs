//! What every sweep does besides refreshing: expire dead accounts, plan reminders and
//! `account.expiring` events, prune the audit log and the settled webhook events. Run by the
//! refresh engine after each sweep that was not interrupted (`refresh::AfterSweep`), so every
//! instance's sweep does it, whichever runs the slot and whether `serve` or `sweep` started it.

use crate::config::Config;
use crate::domain::{KeepAlive, NotificationPolicy, ProviderName};
use crate::provider::Providers;
use crate::refresh::AfterSweep;
use crate::store::{OutboxStore, RefreshStore, Store, WebhookStore};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

pub struct Housekeeping {
    /// Accounts to expire; the refresh log to prune.
    pub refresh: Arc<dyn RefreshStore>,
    /// Reminders to plan.
    pub outbox: Arc<dyn OutboxStore>,
    /// `account.expiring` events to write, delivered events to prune.
    pub webhooks: Arc<dyn WebhookStore>,
    pub notify: NotificationPolicy,
    /// How long a `refresh_log` row is kept (`refresh.log_retention_days`).
    pub log_retention: Duration,
    /// The providers whose accounts live by their refresh token (`KeepAlive::RefreshToken`):
    /// their access tokens ending does not make an account waiting for its member `expired`.
    pub kept_by_refresh_token: Vec<ProviderName>,
}

impl Housekeeping {
    /// The chores on the one store, as `config` sets them, for the providers it configures.
    pub fn of(store: &Arc<dyn Store>, config: &Config) -> Arc<Self> {
        let providers = match Providers::from_config(config) {
            Ok(providers) => providers,
            Err(e) => {
                // Not reached from `Services`, which builds them first and stops on failure.
                tracing::warn!(error = %e, "providers not built; every account waiting for its member expires with its access token");
                return Self::for_providers(store, config, None);
            }
        };
        Self::for_providers(store, config, Some(&providers))
    }

    /// The same, for `providers` already built (the composition root's).
    pub fn for_providers(
        store: &Arc<dyn Store>,
        config: &Config,
        providers: Option<&Providers>,
    ) -> Arc<Self> {
        let configured = config.refresh.expiry();
        let kept_by_refresh_token = providers
            .into_iter()
            .flat_map(Providers::iter)
            .filter(|(_, provider)| {
                matches!(
                    provider.expiry_policy(configured).keeps_alive,
                    KeepAlive::RefreshToken { .. }
                )
            })
            .map(|(name, _)| name.clone())
            .collect();
        Arc::new(Self {
            refresh: store.clone(),
            outbox: store.clone(),
            webhooks: store.clone(),
            notify: config.notify.clone(),
            log_retention: config.refresh.log_retention,
            kept_by_refresh_token,
        })
    }
}

#[async_trait]
impl AfterSweep for Housekeeping {
    /// Failures here are logged, never fatal to the run.
    async fn after_sweep(&self, as_of: DateTime<Utc>) {
        match self
            .refresh
            .expire_dead_accounts(as_of, &self.kept_by_refresh_token)
            .await
        {
            Ok(0) => {}
            Ok(expired) => tracing::info!(
                expired,
                "accounts whose token died before their member reconnected are now expired"
            ),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "marking expired accounts failed")
            }
        }
        // So are the host app's warnings before an end only the member can prevent (none
        // while webhooks are off); their dedupe keys keep each to one per account and end.
        match self.webhooks.record_expiring_events(as_of).await {
            Ok(0) => {}
            Ok(planned) => tracing::info!(planned, "account.expiring events written"),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "writing account.expiring events failed")
            }
        }
        // Reminders before refresh tokens reach their fixed end are planned at every sweep;
        // their dedupe keys make repeated planning harmless.
        match crate::notify::plan_reminders(self.outbox.as_ref(), &self.notify, as_of).await {
            Ok(0) => {}
            Ok(planned) => tracing::info!(planned, "refresh-token reminders queued"),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "planning reminders failed")
            }
        }
        match self.webhooks.prune_webhook_events(as_of).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old delivered or failed webhook events removed"),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "pruning webhook events failed")
            }
        }
        match self
            .refresh
            .prune_refresh_log(as_of - self.log_retention)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old refresh log rows removed"),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "pruning the refresh log failed")
            }
        }
    }
}
