//! Reminders written ahead of time: the refresh token's fixed 365-day life ends for every
//! partner account once a year, and the member is told 30, 7 and 1 days before.

use crate::domain::NotificationPolicy;
use crate::store::{OutboxStore, StoreError};
use chrono::{DateTime, Duration, Utc};

/// Writes the reminders due at `now`; the outbox's dedupe key keeps each to one per link.
pub async fn plan_reminders(
    store: &dyn OutboxStore,
    policy: &NotificationPolicy,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let Some(furthest) = policy.refresh_token_reminder_days.iter().max() else {
        return Ok(0);
    };
    let until = now + Duration::days(*furthest);
    let mut added = 0;
    let mut after = 0;
    loop {
        let accounts = store.refresh_tokens_ending(now, until, after, 500).await?;
        let Some(last) = accounts.last() else {
            return Ok(added);
        };
        after = last.id;
        let reminders: Vec<_> = accounts
            .iter()
            .flat_map(|a| policy.refresh_token_reminders(a, now))
            .collect();
        added += store.add_notifications(&reminders, now).await?;
    }
}
