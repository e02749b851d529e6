use super::account::{refresh_account, Verdict};
use super::breaker::CircuitBreaker;
use super::pacing::Pacing;
use crate::config::RefreshSettings;
use crate::domain::{Account, Clock, NotificationPolicy};
use crate::linkedin::LinkedInClient;
use crate::store::{Lease, RefreshWrite, Store, StoreError, SweepCounts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// "Now" for the whole run; the clock's time when absent.
    pub as_of: Option<DateTime<Utc>>,
    /// List what is due and change nothing.
    pub dry_run: bool,
    /// The scheduled slot this run serves; at most one run per slot across all instances.
    pub slot: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepOutcome {
    Completed,
    /// LinkedIn kept failing; the sweep stopped early and left the rest for the next slot.
    Degraded,
    /// The run itself could not work (database, misconfiguration).
    Failed,
    /// Another instance already runs this slot.
    SlotTaken,
    DryRun,
}

impl SweepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepOutcome::Completed => "completed",
            SweepOutcome::Degraded => "degraded",
            SweepOutcome::Failed => "failed",
            SweepOutcome::SlotTaken => "slot_taken",
            SweepOutcome::DryRun => "dry_run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DueAccount {
    pub account_id: i64,
    pub user_id: String,
    pub expiration: DateTime<Utc>,
    pub status: &'static str,
    pub has_refresh_token: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub run_id: Option<i64>,
    pub as_of: DateTime<Utc>,
    pub outcome: SweepOutcome,
    #[serde(flatten)]
    pub counts: SweepCounts,
    pub error: Option<String>,
    /// What a dry run would refresh.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_refresh: Vec<DueAccount>,
}

/// What every worker of one sweep shares.
pub(super) struct Shared {
    pub linkedin: LinkedInClient,
    pub settings: RefreshSettings,
    pub notify: NotificationPolicy,
    pub pacing: Pacing,
    pub breaker: CircuitBreaker,
    stop: AtomicBool,
    misconfigured: Mutex<Option<String>>,
}

impl Shared {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn stop(&self, misconfigured: Option<String>) {
        if let Some(message) = misconfigured {
            self.misconfigured
                .lock()
                .expect("sweep lock")
                .get_or_insert(message);
        }
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub struct RefreshEngine {
    store: Arc<dyn Store>,
    linkedin: LinkedInClient,
    clock: Arc<dyn Clock>,
    settings: RefreshSettings,
    notify: NotificationPolicy,
    /// Names this process in account claims, so an operator can see who holds what.
    instance: String,
}

impl RefreshEngine {
    pub fn new(
        store: Arc<dyn Store>,
        linkedin: LinkedInClient,
        clock: Arc<dyn Clock>,
        settings: RefreshSettings,
        notify: NotificationPolicy,
    ) -> Self {
        let instance = format!(
            "{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or("0")
        );
        Self {
            store,
            linkedin,
            clock,
            settings,
            notify,
            instance,
        }
    }

    /// Runs one sweep. An `Err` means the run could not even be recorded (database down);
    /// failures during the run are in the report's outcome.
    pub async fn sweep(&self, options: SweepOptions) -> Result<SweepReport, StoreError> {
        let started = self.clock.now();
        let as_of = options.as_of.unwrap_or(started);
        if options.dry_run {
            return self.plan(as_of).await;
        }
        let Some(run_id) = self.store.start_run(options.slot, started, as_of).await? else {
            tracing::info!(slot = ?options.slot, "another instance runs this slot");
            return Ok(SweepReport {
                run_id: None,
                as_of,
                outcome: SweepOutcome::SlotTaken,
                counts: SweepCounts::default(),
                error: None,
                would_refresh: Vec::new(),
            });
        };
        let span = tracing::info_span!("sweep", run_id, as_of = %as_of);
        let _entered = span.enter();
        tracing::info!(slot = ?options.slot, "sweep started");
        let (counts, outcome, error) = self.run(run_id, as_of).await;
        drop(_entered);

        match self.store.expire_dead_accounts(as_of).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(
                expired,
                "accounts whose token died before their member reconnected are now expired"
            ),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "marking expired accounts failed")
            }
        }
        // Reminders before refresh tokens reach their fixed end are planned at every sweep;
        // their dedupe keys make repeated planning harmless.
        match crate::notify::plan_reminders(self.store.as_ref(), &self.notify, as_of).await {
            Ok(0) => {}
            Ok(planned) => tracing::info!(planned, "refresh-token reminders queued"),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "planning reminders failed")
            }
        }
        let finished = self.clock.now();
        self.store
            .finish_run(
                run_id,
                finished,
                &counts,
                outcome.as_str(),
                error.as_deref(),
            )
            .await?;
        match self
            .store
            .prune_refresh_log(as_of - self.settings.log_retention)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old refresh log rows removed"),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "pruning the refresh log failed")
            }
        }
        metrics::counter!("tokenkeeper_sweep_runs_total", "outcome" => outcome.as_str())
            .increment(1);
        let report = SweepReport {
            run_id: Some(run_id),
            as_of,
            outcome,
            counts,
            error,
            would_refresh: Vec::new(),
        };
        match outcome {
            SweepOutcome::Failed => tracing::error!(
                run_id,
                due = report.counts.due,
                error = report.error.as_deref().unwrap_or(""),
                "sweep failed"
            ),
            _ => tracing::info!(
                run_id,
                outcome = outcome.as_str(),
                due = report.counts.due,
                refreshed = report.counts.refreshed,
                failing = report.counts.failing,
                needs_reconnect = report.counts.needs_reconnect,
                skipped = report.counts.skipped,
                "sweep finished"
            ),
        }
        Ok(report)
    }

    async fn plan(&self, as_of: DateTime<Utc>) -> Result<SweepReport, StoreError> {
        let mut would_refresh = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_due(as_of, after, self.settings.batch_size)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.expiration, last.id));
            would_refresh.extend(page.iter().map(|a| DueAccount {
                account_id: a.id,
                user_id: a.user_id.to_string(),
                expiration: a.expiration,
                status: a.status.as_str(),
                has_refresh_token: a.has_refresh_token(),
            }));
        }
        Ok(SweepReport {
            run_id: None,
            as_of,
            outcome: SweepOutcome::DryRun,
            counts: SweepCounts {
                due: would_refresh.len() as i64,
                ..SweepCounts::default()
            },
            error: None,
            would_refresh,
        })
    }

    async fn run(
        &self,
        run_id: i64,
        as_of: DateTime<Utc>,
    ) -> (SweepCounts, SweepOutcome, Option<String>) {
        let shared = Arc::new(Shared {
            linkedin: self.linkedin.clone(),
            settings: self.settings.clone(),
            notify: self.notify.clone(),
            pacing: Pacing::new(self.settings.rate_per_second),
            breaker: CircuitBreaker::new(
                self.settings.breaker_window,
                self.settings.breaker_failure_ratio,
            ),
            stop: AtomicBool::new(false),
            misconfigured: Mutex::new(None),
        });
        let counts = Arc::new(Mutex::new(SweepCounts::default()));
        let store_error: Arc<Mutex<Option<String>>> = Arc::default();
        // Claimed accounts wait here for a worker; the bound keeps claims close to the work.
        let (queue, receiver) = mpsc::channel::<Account>(self.settings.batch_size as usize);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));

        let mut workers = JoinSet::new();
        for _ in 0..self.settings.concurrency {
            let worker = Worker {
                store: self.store.clone(),
                shared: shared.clone(),
                counts: counts.clone(),
                store_error: store_error.clone(),
                run_id,
                as_of,
            };
            let receiver = receiver.clone();
            workers.spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(account) = next else { break };
                    worker.handle(account).await;
                }
            });
        }

        let claimed = self.claim_into(&queue, &shared, as_of).await;
        drop(queue);
        while let Some(joined) = workers.join_next().await {
            if let Err(panic) = joined {
                tracing::error!(error = %panic, "a refresh worker panicked");
            }
        }
        if let Err(e) = claimed {
            store_error
                .lock()
                .expect("sweep lock")
                .get_or_insert(crate::telemetry::error_chain(&e));
        }

        let counts = counts.lock().expect("sweep lock").clone();
        let misconfigured = shared.misconfigured.lock().expect("sweep lock").clone();
        let store_error = store_error.lock().expect("sweep lock").clone();
        if let Some(message) = misconfigured {
            tracing::error!(
                error = %message,
                "LinkedIn rejected our request as misconfigured; check linkedin.client_id, linkedin.client_secret and the token URL. No member was notified."
            );
            metrics::counter!("tokenkeeper_refresh_misconfiguration_total").increment(1);
            return (
                counts,
                SweepOutcome::Failed,
                Some(format!("LinkedIn misconfiguration: {message}")),
            );
        }
        if let Some(message) = store_error {
            return (counts, SweepOutcome::Failed, Some(message));
        }
        if shared.stopping() {
            tracing::warn!(
                "most recent calls to LinkedIn failed; sweep stopped early, the rest waits for the next slot"
            );
            return (
                counts,
                SweepOutcome::Degraded,
                Some("circuit breaker opened: LinkedIn is failing".into()),
            );
        }
        (counts, SweepOutcome::Completed, None)
    }

    /// Claims due accounts batch by batch and queues them for the workers, until none are
    /// left or the sweep is stopping. Memory holds at most a batch or two, whatever the table.
    async fn claim_into(
        &self,
        queue: &mpsc::Sender<Account>,
        shared: &Shared,
        as_of: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        while !shared.stopping() {
            let wall = self.clock.now();
            let lease = Lease {
                holder: self.instance.clone(),
                now: wall,
                until: wall + self.settings.lease,
            };
            let started = std::time::Instant::now();
            let batch = match self
                .store
                .claim_due(as_of, &lease, self.settings.batch_size)
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    shared.stop(None);
                    return Err(e);
                }
            };
            metrics::histogram!("tokenkeeper_claim_batch_seconds")
                .record(started.elapsed().as_secs_f64());
            if batch.is_empty() {
                break;
            }
            for account in batch {
                if queue.send(account).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

struct Worker {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    counts: Arc<Mutex<SweepCounts>>,
    store_error: Arc<Mutex<Option<String>>>,
    run_id: i64,
    as_of: DateTime<Utc>,
}

impl Worker {
    async fn handle(&self, account: Account) {
        self.count(|c| c.due += 1);
        if self.shared.stopping() {
            self.release(&account, &[]).await;
            return;
        }
        let started = std::time::Instant::now();
        let (verdict, log) =
            refresh_account(&self.shared, &account, self.as_of, Some(self.run_id)).await;
        let write = match verdict {
            Verdict::Write(write) => write,
            Verdict::StopSweep { misconfigured } => {
                self.shared.stop(misconfigured);
                self.release(&account, &log).await;
                return;
            }
        };
        let result = match &write {
            RefreshWrite::Refreshed { .. } => "refreshed",
            RefreshWrite::Failing { .. } => "refresh_failing",
            RefreshWrite::NeedsReconnect { .. } => "needs_reconnect",
            RefreshWrite::Release => "skipped",
        };
        match self
            .store
            .complete_refresh(account.id, account.version, &write, &log)
            .await
        {
            Ok(true) => {
                metrics::counter!("tokenkeeper_refresh_results_total", "result" => result)
                    .increment(1);
                metrics::histogram!("tokenkeeper_refresh_duration_seconds", "result" => result)
                    .record(started.elapsed().as_secs_f64());
                self.count(|c| match &write {
                    RefreshWrite::Refreshed { .. } => c.refreshed += 1,
                    RefreshWrite::Failing { .. } => c.failing += 1,
                    RefreshWrite::NeedsReconnect { .. } => c.needs_reconnect += 1,
                    RefreshWrite::Release => c.skipped += 1,
                });
                log_result(&account, &write);
            }
            Ok(false) => {
                tracing::warn!(
                    account_id = account.id,
                    "the claim on this account expired and another process took it over; this result was discarded"
                );
                self.count(|c| c.skipped += 1);
            }
            Err(e) => {
                let message = crate::telemetry::error_chain(&e);
                tracing::error!(account_id = account.id, error = %message, "could not write a refresh result");
                self.store_error
                    .lock()
                    .expect("sweep lock")
                    .get_or_insert(message);
                self.shared.stop(None);
                self.count(|c| c.skipped += 1);
            }
        }
    }

    async fn release(&self, account: &Account, log: &[crate::store::RefreshLogEntry]) {
        self.count(|c| c.skipped += 1);
        if let Err(e) = self
            .store
            .complete_refresh(account.id, account.version, &RefreshWrite::Release, log)
            .await
        {
            // The lease runs out by itself; the account is only delayed.
            tracing::warn!(account_id = account.id, error = %crate::telemetry::error_chain(&e), "could not release a claim");
        }
    }

    fn count(&self, change: impl FnOnce(&mut SweepCounts)) {
        change(&mut self.counts.lock().expect("sweep lock"));
    }
}

fn log_result(account: &Account, write: &RefreshWrite) {
    match write {
        RefreshWrite::Refreshed {
            tokens, expiration, ..
        } => tracing::info!(
            account_id = account.id,
            user_id = %account.user_id,
            token_expires_at = %tokens.token_expires_at,
            next_refresh = %expiration,
            "token refreshed"
        ),
        RefreshWrite::Failing {
            error,
            notifications,
            ..
        } => tracing::warn!(
            account_id = account.id,
            user_id = %account.user_id,
            error,
            attempts = account.refresh_attempts + 1,
            notified = !notifications.is_empty(),
            "refresh failing; will retry at the next slot"
        ),
        RefreshWrite::NeedsReconnect {
            error,
            notifications,
            ..
        } => tracing::warn!(
            account_id = account.id,
            user_id = %account.user_id,
            error,
            notifications = notifications.len(),
            "member must reconnect"
        ),
        RefreshWrite::Release => {}
    }
}
