//! What every sweep does besides refreshing: expire dead accounts, plan reminders and
//! `account.expiring` events, prune the audit log and the settled webhook events. Run by the
//! refresh engine after each sweep that was not interrupted (`refresh::AfterSweep`), so every
//! instance's sweep does it, whichever runs the slot and whether `serve` or `sweep` started it.

use crate::config::Config;
use crate::domain::NotificationPolicy;
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
}

impl Housekeeping {
    /// The chores on the one store, as `config` sets them.
    pub fn of(store: &Arc<dyn Store>, config: &Config) -> Arc<Self> {
        Arc::new(Self {
            refresh: store.clone(),
            outbox: store.clone(),
            webhooks: store.clone(),
            notify: config.notify.clone(),
            log_retention: config.refresh.log_retention,
        })
    }
}

#[async_trait]
impl AfterSweep for Housekeeping {
    /// Failures here are logged, never fatal to the run.
    async fn after_sweep(&self, as_of: DateTime<Utc>) {
        match self.refresh.expire_dead_accounts(as_of).await {
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
