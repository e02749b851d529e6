//! A real refresh store (SQLite, PostgreSQL or MariaDB) with one deliberate bug: writing a
//! refresh result for one chosen account panics. It stands in for any bug in a refresh, so
//! the engine's handling of a panicking refresh is tested against the real database rather
//! than a mock. It can also make the sweep's second claim late (`LateClaim`). It wraps the
//! engine's refresh port alone; the engine's other ports are the real store's.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokenkeeper::domain::{Account, ProviderName};
use tokenkeeper::refresh::EngineStores;
use tokenkeeper::store::{
    ClaimedBatch, Lease, RefreshLogEntry, RefreshLogStore, RefreshStore, RefreshWrite, Store,
    StoreError,
};
use tokio::sync::watch;

pub struct PanickingStore {
    pub inner: Arc<dyn RefreshStore>,
    /// Writing a result (anything but a plain release) for this account panics.
    pub panics_for: i64,
    /// When set, the second claim is late, see `LateClaim`.
    pub late_claim: Option<Arc<LateClaim>>,
    /// Writes of new tokens fail this many times first, as a database that went away does.
    pub failing_token_writes: std::sync::atomic::AtomicU32,
}

impl PanickingStore {
    /// The engine's ports: `store`'s, with this one for refreshes.
    pub fn in_engine(self, store: &Arc<dyn Store>) -> EngineStores {
        EngineStores {
            refresh: Arc::new(self),
            ..EngineStores::of(store)
        }
    }
}

/// Makes the second claim of a sweep wait until two claims have been released, then carries
/// it out whether or not its caller still waits, as a database carries out a statement it
/// was sent: so a test can see what becomes of rows claimed by a call its caller gave up on.
pub struct LateClaim {
    seen: watch::Sender<Seen>,
}

/// What a `LateClaim` has seen so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    pub claims_started: u32,
    pub claims_done: u32,
    pub releases: u32,
}

impl Default for LateClaim {
    fn default() -> Self {
        Self {
            seen: watch::Sender::new(Seen::default()),
        }
    }
}

impl LateClaim {
    /// Completes once what was seen satisfies `ready`.
    pub async fn wait_for(&self, ready: impl FnMut(&Seen) -> bool) {
        let _ = self.seen.subscribe().wait_for(ready).await;
    }

    async fn claim(
        &self,
        inner: Arc<dyn RefreshStore>,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
        left_out: &[ProviderName],
    ) -> Result<ClaimedBatch, StoreError> {
        self.seen.send_modify(|seen| seen.claims_started += 1);
        let late = self.seen.borrow().claims_started == 2;
        let (seen, lease, left_out) = (self.seen.clone(), lease.clone(), left_out.to_vec());
        // A task of its own: dropping this call does not stop the claim.
        let claim = tokio::spawn(async move {
            if late {
                let _ = seen.subscribe().wait_for(|s| s.releases >= 2).await;
            }
            let claimed = inner
                .claim_due_except(due_at, &lease, limit, &left_out)
                .await;
            seen.send_modify(|seen| seen.claims_done += 1);
            claimed
        });
        claim.await.expect("the claim does not panic")
    }
}

#[async_trait]
impl RefreshStore for PanickingStore {
    async fn claim_due_except(
        &self,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
        left_out: &[ProviderName],
    ) -> Result<ClaimedBatch, StoreError> {
        match &self.late_claim {
            Some(late) => {
                late.claim(self.inner.clone(), due_at, lease, limit, left_out)
                    .await
            }
            None => {
                self.inner
                    .claim_due_except(due_at, lease, limit, left_out)
                    .await
            }
        }
    }
    async fn list_due(
        &self,
        due_at: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        self.inner.list_due(due_at, after, limit).await
    }
    async fn complete_refresh(
        &self,
        claimed: &Account,
        write: &RefreshWrite,
        log: &[RefreshLogEntry],
    ) -> Result<bool, StoreError> {
        if claimed.id == self.panics_for && !matches!(write, RefreshWrite::Release) {
            panic!("a deliberate bug while writing account {}", claimed.id);
        }
        if matches!(write, RefreshWrite::Refreshed { .. })
            && self
                .failing_token_writes
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |left| left.checked_sub(1),
                )
                .is_ok()
        {
            return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
        }
        let written = self.inner.complete_refresh(claimed, write, log).await;
        if let (Some(late), RefreshWrite::Release) = (&self.late_claim, write) {
            late.seen.send_modify(|seen| seen.releases += 1);
        }
        written
    }
    async fn expire_dead_accounts(
        &self,
        now: DateTime<Utc>,
        kept_by_refresh_token: &[ProviderName],
    ) -> Result<u64, StoreError> {
        self.inner
            .expire_dead_accounts(now, kept_by_refresh_token)
            .await
    }
    async fn prune_refresh_log(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_refresh_log(before).await
    }
}

#[async_trait]
impl RefreshLogStore for PanickingStore {
    async fn refresh_log_for(&self, account_id: i64) -> Result<Vec<RefreshLogEntry>, StoreError> {
        self.inner.refresh_log_for(account_id).await
    }
}
