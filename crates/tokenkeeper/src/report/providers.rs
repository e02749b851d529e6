//! The success report per provider: the same figures, for the accounts of each provider.
//! Sweeps are left out (a sweep serves every provider), and only accounts that still exist
//! are counted, so the providers' figures add up to the totals unless accounts were deleted.

use super::{median, share, SuccessReport, MEDIAN_SAMPLE};
use crate::domain::ProviderName;
use crate::store::{ReportStore, StoreError, Window};
use serde::Serialize;
use std::collections::BTreeMap;

/// One provider's figures over the window; each means what the report's own field of that
/// name means, for this provider's accounts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderFigures {
    /// The provider's accounts now, whatever their status.
    pub accounts: i64,
    pub due_accounts: i64,
    pub refreshed_automatically: i64,
    pub kept_alive_share: Option<f64>,
    pub reconnect_episodes_opened: i64,
    pub reconnect_episodes_closed: i64,
    pub median_time_to_reconnect_seconds: Option<i64>,
    pub emails_sent: i64,
    pub emails_link_opened: i64,
    pub emails_reconnected: i64,
    pub accounts_lost: i64,
    pub reconnections_avoided: i64,
}

/// Each provider that has accounts, or had events in the window, by name.
pub type ByProvider = BTreeMap<ProviderName, ProviderFigures>;

impl ProviderFigures {
    /// Reads every provider's figures of `window` from the database.
    pub async fn compute<S: ReportStore + ?Sized>(
        store: &S,
        window: Window,
    ) -> Result<ByProvider, StoreError> {
        let counts = store.report_counts_by_provider(window).await?;
        let mut seconds: BTreeMap<ProviderName, Vec<i64>> = BTreeMap::new();
        for (provider, e) in store
            .closed_episodes_by_provider(window, MEDIAN_SAMPLE)
            .await?
        {
            seconds
                .entry(provider)
                .or_default()
                .push((e.reconnected_at - e.opened_at).num_seconds());
        }
        Ok(counts
            .into_iter()
            .map(|(provider, p)| {
                let c = p.counts;
                let median = median(seconds.get_mut(&provider).map_or(&mut [], |s| s));
                let figures = ProviderFigures {
                    accounts: p.accounts,
                    due_accounts: c.due_accounts,
                    refreshed_automatically: c.refreshed_accounts,
                    kept_alive_share: share(c.refreshed_accounts, c.due_accounts),
                    reconnect_episodes_opened: c.episodes_opened,
                    reconnect_episodes_closed: c.episodes_closed,
                    median_time_to_reconnect_seconds: median,
                    emails_sent: c.emails_sent,
                    emails_link_opened: c.emails_link_opened,
                    emails_reconnected: c.emails_reconnected,
                    accounts_lost: c.accounts_lost,
                    reconnections_avoided: c.refreshes,
                };
                (provider, figures)
            })
            .collect())
    }

    /// The figures as a report of the window with no sweeps, so that the text shows them as
    /// it shows the totals.
    pub(super) fn as_report(&self, total: &SuccessReport) -> SuccessReport {
        SuccessReport {
            since: total.since,
            until: total.until,
            due_accounts: self.due_accounts,
            refreshed_automatically: self.refreshed_automatically,
            kept_alive_share: self.kept_alive_share,
            reconnect_episodes_opened: self.reconnect_episodes_opened,
            reconnect_episodes_closed: self.reconnect_episodes_closed,
            median_time_to_reconnect_seconds: self.median_time_to_reconnect_seconds,
            emails_sent: self.emails_sent,
            emails_link_opened: self.emails_link_opened,
            emails_reconnected: self.emails_reconnected,
            accounts_lost: self.accounts_lost,
            reconnections_avoided: self.reconnections_avoided,
            sweeps_started: 0,
            sweeps_completed: 0,
        }
    }
}

/// Whether the breakdown says more than the totals: accounts of two providers or more.
pub fn several_providers(by_provider: &ByProvider) -> bool {
    by_provider.values().filter(|p| p.accounts > 0).count() > 1
}
