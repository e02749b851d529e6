//! Refresh on read: the host app reads a token before each call to the network, and for
//! networks whose access tokens live an hour (X, Google, any OpenID server) the scheduled
//! sweep keeps only the refresh token alive. A read whose token has less than `min_validity`
//! left refreshes it first, once: readers in this process take turns (`Turns`), and the first
//! refreshes through the on-demand path, which claims the account, so readers in other
//! processes find it held and wait for the token it writes. A fresh token costs nothing more
//! than the read itself.

use super::account::renewable;
use super::on_demand::{Demand, OnDemand};
use super::RefreshEngine;
use crate::domain::{Account, ProviderName};
use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};

/// What a read gets.
#[derive(Debug)]
pub enum OnRead {
    /// The token has at least `min_validity` left, or nothing can renew it (its status says
    /// why): the account as stored.
    Stored(Account),
    /// The token was renewed for this read (or another reader's).
    Refreshed(Account),
    /// The renewal failed; the token has less than asked left. What the refresh came to.
    Failed(OnDemand),
    /// Another process holds the account and did not write a fresh token in time.
    StillRefreshing,
    /// The account went away meanwhile.
    Gone,
}

impl RefreshEngine {
    /// `stored`, with at least `min_validity` left on its access token when it can be renewed.
    pub async fn fresh_for_read(
        &self,
        stored: Account,
        min_validity: Duration,
    ) -> Result<OnRead, StoreError> {
        let now = self.clock.now();
        if !self.due_for_read(&stored, now, min_validity) {
            return Ok(OnRead::Stored(stored));
        }
        let key = (stored.provider.clone(), stored.user_id.clone());
        let _turn = self.read_turns.take(&key).await;
        // A reader before us may have renewed it while we waited.
        let Some(current) = self.reread(&stored.provider, &stored).await? else {
            return Ok(OnRead::Gone);
        };
        if !self.due_for_read(&current, self.clock.now(), min_validity) {
            return Ok(OnRead::Refreshed(current));
        }
        // Held by another process: its refresh is in flight. Wait for what it writes, for as
        // long as one call to the network may take, and then some.
        let deadline = tokio::time::Instant::now() + self.read_wait(&current.provider);
        let mut pause = std::time::Duration::from_millis(25);
        loop {
            match self
                .on_demand(&current.provider, &current.user_id, Demand::Refresh)
                .await?
            {
                OnDemand::Refreshed(account) => return Ok(OnRead::Refreshed(account)),
                OnDemand::Unknown => return Ok(OnRead::Gone),
                // Only the member can renew it, or the network will only later: the token
                // as it is, and its status.
                OnDemand::NeedsReconnect(account) => return Ok(OnRead::Stored(account)),
                OnDemand::NoRefreshToken | OnDemand::TooEarly { .. } => {
                    return Ok(self
                        .reread(&current.provider, &current)
                        .await?
                        .map_or(OnRead::Gone, OnRead::Stored))
                }
                OnDemand::Busy => {}
                other => return Ok(OnRead::Failed(other)),
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(OnRead::StillRefreshing);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(500));
            let Some(again) = self.reread(&current.provider, &current).await? else {
                return Ok(OnRead::Gone);
            };
            if !self.due_for_read(&again, self.clock.now(), min_validity) {
                return Ok(OnRead::Refreshed(again));
            }
        }
    }

    /// Whether a read of `account` must renew its token first: too close to its end, in a
    /// state the engine refreshes, and renewable at all. "Too close" is `min_validity`, but
    /// never more than half the token's life: a network whose tokens live less than what a
    /// reader asks would otherwise be asked for a new token on every read.
    fn due_for_read(&self, account: &Account, now: DateTime<Utc>, min_validity: Duration) -> bool {
        let issued = account.last_refreshed_at.unwrap_or(account.linked_at);
        let half_life = (account.token_expires_at - issued) / 2;
        account.token_expires_at - now < min_validity.min(half_life)
            && account.status.allows_refresh()
            && self
                .providers
                .find(&account.provider)
                .is_some_and(|provider| renewable(provider.as_ref(), account, now).is_ok())
    }

    async fn reread(
        &self,
        provider: &ProviderName,
        account: &Account,
    ) -> Result<Option<Account>, StoreError> {
        self.stores
            .accounts
            .account_by_user(provider, &account.user_id)
            .await
    }

    /// How long a reader waits for another process's refresh: one call's time-out, twice.
    fn read_wait(&self, provider: &ProviderName) -> std::time::Duration {
        self.providers
            .find(provider)
            .map_or(std::time::Duration::from_secs(20), |p| p.timeout())
            .saturating_mul(2)
    }
}
