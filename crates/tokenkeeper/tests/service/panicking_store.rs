//! A real store (SQLite, PostgreSQL or MariaDB) with one deliberate bug: writing a refresh
//! result for one chosen account panics. It stands in for any bug in a refresh, so the
//! engine's handling of a panicking refresh is tested against the real database rather than
//! a mock. It can also make the sweep's second claim late (`LateClaim`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokenkeeper::crypto::{Plaintext, TokenCipher};
use tokenkeeper::domain::{
    Account, ImportDecision, ImportedAccount, LinkedAccount, NewNotification, NotificationStatus,
    SweepOutcome, UserId, WebhookEvent,
};
use tokenkeeper::store::{
    AccountFilter, AccountSearch, AccountSummary, AdminStore, AttemptLookup, ClaimedBatch,
    ClaimedNotification, ConnectAttempt, ConnectOutcome, ConnectStore, DeletedAccount,
    DeliveryMark, FailedDelivery, ForecastCount, HostApiStore, ImportStore, KeyRotationStore,
    Lease, LinkUse, OneClaim, OutboxStore, OutcomeCount, Purged, ReconnectNotices, RefreshLogEntry,
    RefreshStore, RefreshWrite, ReportCounts, ReportStore, Resealed, RunStore, SealedRow, Store,
    StoreError, StoredNotification, StoredWebhookEvent, SweepCounts, SweepRun, WebhookStore,
    Window,
};
use tokio::sync::watch;

pub struct PanickingStore {
    pub inner: Arc<dyn Store>,
    /// Writing a result (anything but a plain release) for this account panics.
    pub panics_for: i64,
    /// When set, the second claim is late, see `LateClaim`.
    pub late_claim: Option<Arc<LateClaim>>,
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
        inner: Arc<dyn Store>,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
    ) -> Result<ClaimedBatch, StoreError> {
        self.seen.send_modify(|seen| seen.claims_started += 1);
        let late = self.seen.borrow().claims_started == 2;
        let (seen, lease) = (self.seen.clone(), lease.clone());
        // A task of its own: dropping this call does not stop the claim.
        let claim = tokio::spawn(async move {
            if late {
                let _ = seen.subscribe().wait_for(|s| s.releases >= 2).await;
            }
            let claimed = inner.claim_due(due_at, &lease, limit).await;
            seen.send_modify(|seen| seen.claims_done += 1);
            claimed
        });
        claim.await.expect("the claim does not panic")
    }
}

#[async_trait]
impl RefreshStore for PanickingStore {
    async fn claim_due(
        &self,
        due_at: DateTime<Utc>,
        lease: &Lease,
        limit: i64,
    ) -> Result<ClaimedBatch, StoreError> {
        match &self.late_claim {
            Some(late) => late.claim(self.inner.clone(), due_at, lease, limit).await,
            None => self.inner.claim_due(due_at, lease, limit).await,
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
        let written = self.inner.complete_refresh(claimed, write, log).await;
        if let (Some(late), RefreshWrite::Release) = (&self.late_claim, write) {
            late.seen.send_modify(|seen| seen.releases += 1);
        }
        written
    }
    async fn expire_dead_accounts(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.expire_dead_accounts(now).await
    }
    async fn prune_refresh_log(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_refresh_log(before).await
    }
    async fn refresh_log_for(&self, account_id: i64) -> Result<Vec<RefreshLogEntry>, StoreError> {
        self.inner.refresh_log_for(account_id).await
    }
    async fn notifications_for(
        &self,
        account_id: i64,
    ) -> Result<Vec<StoredNotification>, StoreError> {
        self.inner.notifications_for(account_id).await
    }
}

#[async_trait]
impl RunStore for PanickingStore {
    async fn start_run(
        &self,
        slot: Option<DateTime<Utc>>,
        started_at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        self.inner.start_run(slot, started_at, as_of).await
    }
    async fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        counts: &SweepCounts,
        outcome: SweepOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner
            .finish_run(run_id, finished_at, counts, outcome, error)
            .await
    }
    async fn latest_slot(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.latest_slot().await
    }
    async fn recent_runs(&self, limit: i64) -> Result<Vec<SweepRun>, StoreError> {
        self.inner.recent_runs(limit).await
    }
}

#[async_trait]
impl OutboxStore for PanickingStore {
    async fn claim_notifications(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        self.inner.claim_notifications(lease, limit).await
    }
    async fn renew_notification_claim(&self, id: i64, lease: &Lease) -> Result<bool, StoreError> {
        self.inner.renew_notification_claim(id, lease).await
    }
    async fn mark_sent(
        &self,
        id: i64,
        holder: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.mark_sent(id, holder, message_id, at).await
    }
    async fn mark_retry(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner
            .mark_retry(id, holder, error, next_attempt_at)
            .await
    }
    async fn mark_failed(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        status: NotificationStatus,
    ) -> Result<bool, StoreError> {
        self.inner.mark_failed(id, holder, error, status).await
    }
    async fn add_notifications(
        &self,
        notifications: &[NewNotification],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.inner.add_notifications(notifications, at).await
    }
    async fn refresh_tokens_ending(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        self.inner
            .refresh_tokens_ending(now, until, after_id, limit)
            .await
    }
    async fn notification_counts(&self) -> Result<Vec<(NotificationStatus, i64)>, StoreError> {
        self.inner.notification_counts().await
    }
}

#[async_trait]
impl KeyRotationStore for PanickingStore {
    fn token_cipher(&self) -> &TokenCipher {
        self.inner.token_cipher()
    }
    fn plaintext(&self) -> Plaintext {
        self.inner.plaintext()
    }
    async fn sealed_rows(&self, after_id: i64, limit: i64) -> Result<Vec<SealedRow>, StoreError> {
        self.inner.sealed_rows(after_id, limit).await
    }
    async fn write_resealed(&self, rows: &[Resealed<'_>]) -> Result<Vec<bool>, StoreError> {
        self.inner.write_resealed(rows).await
    }
}

#[async_trait]
impl Store for PanickingStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn save_linked_account(&self, account: &LinkedAccount) -> Result<Account, StoreError> {
        self.inner.save_linked_account(account).await
    }
    async fn account_by_user(&self, user_id: &UserId) -> Result<Option<Account>, StoreError> {
        self.inner.account_by_user(user_id).await
    }
    async fn accounts_by_users(
        &self,
        user_ids: &[UserId],
    ) -> Result<Vec<Result<Account, StoreError>>, StoreError> {
        self.inner.accounts_by_users(user_ids).await
    }
    async fn account_by_id(&self, id: i64) -> Result<Option<Account>, StoreError> {
        self.inner.account_by_id(id).await
    }
    async fn list_accounts(&self, after_id: i64, limit: i64) -> Result<Vec<Account>, StoreError> {
        self.inner.list_accounts(after_id, limit).await
    }
    async fn count_accounts(&self) -> Result<i64, StoreError> {
        self.inner.count_accounts().await
    }
}

#[async_trait]
impl ConnectStore for PanickingStore {
    async fn save_connect_attempt(&self, attempt: &ConnectAttempt) -> Result<(), StoreError> {
        self.inner.save_connect_attempt(attempt).await
    }
    async fn take_connect_attempt(
        &self,
        state_hash: &str,
        browser_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AttemptLookup, StoreError> {
        self.inner
            .take_connect_attempt(state_hash, browser_hash, now)
            .await
    }
    async fn count_connect_attempts(&self) -> Result<i64, StoreError> {
        self.inner.count_connect_attempts().await
    }
    async fn connect_link_used(&self, link_hash: &str) -> Result<bool, StoreError> {
        self.inner.connect_link_used(link_hash).await
    }
    async fn complete_connect(
        &self,
        account: &LinkedAccount,
        link: &LinkUse,
        now: DateTime<Utc>,
    ) -> Result<ConnectOutcome, StoreError> {
        self.inner.complete_connect(account, link, now).await
    }
    async fn purge_expired_connect_state(&self, now: DateTime<Utc>) -> Result<Purged, StoreError> {
        self.inner.purge_expired_connect_state(now).await
    }
}

#[async_trait]
impl ImportStore for PanickingStore {
    async fn accounts_of_users(&self, users: &[UserId]) -> Result<Vec<Account>, StoreError> {
        self.inner.accounts_of_users(users).await
    }
    async fn import_accounts(
        &self,
        batch: &[ImportedAccount],
        at: DateTime<Utc>,
        reconnect: ReconnectNotices<'_>,
    ) -> Result<Vec<ImportDecision>, StoreError> {
        self.inner.import_accounts(batch, at, reconnect).await
    }
}

#[async_trait]
impl WebhookStore for PanickingStore {
    async fn claim_webhook_events(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        self.inner.claim_webhook_events(lease, limit).await
    }
    async fn mark_webhook_event(
        &self,
        id: i64,
        holder: &str,
        mark: &DeliveryMark,
    ) -> Result<bool, StoreError> {
        self.inner.mark_webhook_event(id, holder, mark).await
    }
    async fn record_expiring_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.record_expiring_events(now).await
    }
    async fn prune_webhook_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_webhook_events(now).await
    }
    async fn webhook_events(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredWebhookEvent>, StoreError> {
        self.inner.webhook_events(after_id, limit).await
    }
}

#[async_trait]
impl AdminStore for PanickingStore {
    async fn accounts_by_status(
        &self,
    ) -> Result<Vec<(tokenkeeper::domain::AccountStatus, i64)>, StoreError> {
        self.inner.accounts_by_status().await
    }
    async fn search_accounts(
        &self,
        search: &AccountSearch,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        self.inner.search_accounts(search).await
    }
    async fn refresh_outcomes_by_day(
        &self,
        from: DateTime<Utc>,
    ) -> Result<Vec<OutcomeCount>, StoreError> {
        self.inner.refresh_outcomes_by_day(from).await
    }
    async fn failed_deliveries(&self, limit: i64) -> Result<Vec<FailedDelivery>, StoreError> {
        self.inner.failed_deliveries(limit).await
    }
    async fn retry_delivery(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.inner.retry_delivery(id, now).await
    }
    async fn resend_reconnect_email(
        &self,
        account_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        self.inner.resend_reconnect_email(account_id, now).await
    }
}

#[async_trait]
impl HostApiStore for PanickingStore {
    async fn list_account_summaries(
        &self,
        filter: &AccountFilter,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        self.inner.list_account_summaries(filter).await
    }
    async fn claim_one(&self, user_id: &UserId, lease: &Lease) -> Result<OneClaim, StoreError> {
        self.inner.claim_one(user_id, lease).await
    }
    async fn delete_account(
        &self,
        user_id: &UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<DeletedAccount>, StoreError> {
        self.inner.delete_account(user_id, at).await
    }
    async fn forecast(
        &self,
        from: DateTime<Utc>,
        days: i64,
    ) -> Result<Vec<ForecastCount>, StoreError> {
        self.inner.forecast(from, days).await
    }
}

#[async_trait]
impl ReportStore for PanickingStore {
    async fn report_counts(&self, window: Window) -> Result<ReportCounts, StoreError> {
        self.inner.report_counts(window).await
    }
    async fn closed_episodes(
        &self,
        window: Window,
        limit: i64,
    ) -> Result<Vec<tokenkeeper::store::ClosedEpisode>, StoreError> {
        self.inner.closed_episodes(window, limit).await
    }
}
