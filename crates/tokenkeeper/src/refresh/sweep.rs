use super::account::{refresh_account, Verdict};
use super::after_sweep::AfterSweep;
use super::pacing::Pacing;
use super::shared::{Escalation, Shared};
use super::stores::EngineStores;
use crate::config::RefreshSettings;
use crate::domain::EnumText;
use crate::domain::{
    Account, Clock, NotificationPolicy, ProviderName, RefreshOutcome, SweepOutcome, UserId,
};
use crate::provider::Providers;
use crate::provider::Rotation;
use crate::store::{Lease, RefreshStore, RefreshWrite, StoreError, SweepCounts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// "Now" for the whole run; the clock's time when absent.
    pub as_of: Option<DateTime<Utc>>,
    /// List what is due and change nothing.
    pub dry_run: bool,
    /// The scheduled slot this run serves; at most one run per slot across all instances.
    pub slot: Option<DateTime<Utc>>,
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

/// What becomes of the accounts held for escalation when the sweep ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// The sweep ended normally: their reconnect episodes start.
    Escalate,
    /// The sweep concluded the refusals were about our client (their provider refused it):
    /// released, and the slot is recorded as ours so that it never counts against the member.
    Ours,
    /// The sweep failed or was interrupted: released as they are, decided at the next slot.
    Later,
}

#[derive(Clone)]
pub struct RefreshEngine {
    pub(super) stores: EngineStores,
    /// Each account's network's provider (LinkedIn's, today).
    pub(super) providers: Providers,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: RefreshSettings,
    pub(super) notify: NotificationPolicy,
    /// Names this process in account claims, so an operator can see who holds what.
    pub(super) instance: String,
    /// Cancelled when the process shuts down.
    pub(super) shutdown: CancellationToken,
    /// Every call this process makes to LinkedIn on an account's behalf goes through it: the
    /// sweeps' refreshes and the imports' introspections alike, so that together they stay
    /// within `refresh.rate_per_second` and all of them observe a 429's pause.
    pub(super) pacing: Arc<Pacing>,
    /// Counts the sweeps this engine (and its clones) finished, for whoever recomputes what
    /// depends on them.
    pub(super) runs_finished: Arc<tokio::sync::watch::Sender<u64>>,
    /// The refreshes on demand still running, whoever asked for them: owned by the process,
    /// not by the requests, and waited for at shutdown (`drain_demands`).
    pub(super) demands: TaskTracker,
    /// The chores after each sweep (the service's housekeeping).
    pub(super) after_sweep: Arc<dyn AfterSweep>,
    /// Reads that renew a token take turns per account (`on_read.rs`).
    pub(super) read_turns: Arc<super::turns::Turns<(ProviderName, UserId)>>,
}

impl RefreshEngine {
    /// `providers`: the service's `Providers`, or one provider's client (a `LinkedInClient`)
    /// for a service of that network alone. `after_sweep`: what each sweep does once it has
    /// refreshed, the service's housekeeping (`workers::Housekeeping`).
    pub fn new(
        stores: EngineStores,
        providers: impl Into<Providers>,
        clock: Arc<dyn Clock>,
        settings: RefreshSettings,
        notify: NotificationPolicy,
        after_sweep: Arc<dyn AfterSweep>,
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
            pacing: Arc::new(Pacing::new(settings.rate_per_second)),
            stores,
            providers: providers.into(),
            clock,
            settings,
            notify,
            instance,
            shutdown: CancellationToken::new(),
            runs_finished: Arc::new(tokio::sync::watch::Sender::new(0)),
            demands: TaskTracker::new(),
            after_sweep,
            read_turns: Arc::default(),
        }
    }

    /// Changes each time a sweep of this engine has finished and recorded its run.
    pub fn runs_finished(&self) -> tokio::sync::watch::Receiver<u64> {
        self.runs_finished.subscribe()
    }

    /// The rate limiter of this process's calls to LinkedIn, for other callers to share.
    pub fn pacing(&self) -> Arc<Pacing> {
        self.pacing.clone()
    }

    /// Ends sweeps early, as `interrupted`, when `token` is cancelled: calls to LinkedIn and
    /// pauses in flight are abandoned and every claim is released within moments.
    pub fn with_shutdown(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// Runs one sweep. An `Err` means the run could not even be recorded (database down);
    /// failures during the run are in the report's outcome.
    pub async fn sweep(&self, options: SweepOptions) -> Result<SweepReport, StoreError> {
        let started = self.clock.now();
        let as_of = options.as_of.unwrap_or(started);
        if options.dry_run {
            return self.plan(as_of).await;
        }
        let Some(run_id) = self
            .stores
            .runs
            .start_run(options.slot, started, as_of)
            .await?
        else {
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
        // Carried into every worker the sweep spawns, so each of its lines names the run.
        let span = tracing::info_span!("sweep", run_id, as_of = %as_of);
        span.in_scope(|| tracing::info!(slot = ?options.slot, "sweep started"));
        let (counts, outcome, error) = self.run(run_id, as_of).instrument(span.clone()).await;

        if outcome != SweepOutcome::Interrupted {
            self.after_sweep.after_sweep(as_of).instrument(span).await;
        }
        let finished = self.clock.now();
        self.stores
            .runs
            .finish_run(run_id, finished, &counts, outcome, error.as_deref())
            .await?;
        metrics::counter!("tokenkeeper_sweep_runs_total", "outcome" => outcome.as_str())
            .increment(1);
        self.runs_finished.send_modify(|runs| *runs += 1);
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
                unreadable = report.counts.unreadable,
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
                .stores
                .refresh
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
        let shared = Arc::new(Shared::new(
            self.providers.clone(),
            self.settings.clone(),
            self.notify.clone(),
            self.pacing.clone(),
            self.shutdown.child_token(),
        ));
        let counts = Arc::new(Mutex::new(SweepCounts::default()));
        let store_error: Arc<Mutex<Option<String>>> = Arc::default();
        // Claimed accounts wait here for a worker; the bound keeps claims close to the work.
        let (queue, receiver) = mpsc::channel::<Claimed>(self.settings.batch_size as usize);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));

        let mut workers = JoinSet::new();
        let worker = Arc::new(Worker {
            store: self.stores.refresh.clone(),
            shared: shared.clone(),
            counts: counts.clone(),
            store_error: store_error.clone(),
            run_id,
            as_of,
        });
        for _ in 0..self.settings.concurrency {
            let worker = worker.clone();
            let receiver = receiver.clone();
            workers.spawn(
                async move {
                    loop {
                        let next = receiver.lock().await.recv().await;
                        let Some(claimed) = next else { break };
                        worker.clone().handle_guarded(claimed).await;
                    }
                }
                .in_current_span(),
            );
        }

        // Never abandoned at shutdown: a claim the database has been sent may take its rows
        // whether or not anyone waits for its answer, and rows nobody saw claimed would stay
        // claimed for the whole lease. Its accounts reach the workers, which release them
        // (the sweep is stopping). A database that never answers is bounded by shutdown's own
        // grace, as the releases and the run record are.
        let claimed = self.claim_into(&queue, &shared, &counts, as_of).await;
        drop(queue);
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined {
                // Panics are caught per account; this is only reached if that failed.
                shared.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "a refresh worker ended abnormally");
            }
        }
        if let Err(e) = claimed {
            store_error
                .lock()
                .expect("sweep lock")
                .get_or_insert(crate::telemetry::error_chain(&e));
        }
        let settle = if store_error.lock().expect("sweep lock").is_some()
            || shared.panics.load(Ordering::Relaxed) > 0
            || self.shutdown.is_cancelled()
        {
            Settle::Later
        } else {
            Settle::Escalate
        };
        worker.settle_escalations(settle).await;

        let counts = counts.lock().expect("sweep lock").clone();
        let store_error = store_error.lock().expect("sweep lock").clone();
        let (outcome, error) =
            super::outcome::judge(&shared, store_error, self.shutdown.is_cancelled());
        (counts, outcome, error)
    }

    /// Claims due accounts batch by batch and queues them for the workers, until none are
    /// left or the sweep is stopping. Memory holds at most a batch or two, whatever the table.
    /// The accounts of a provider whose part of the sweep has stopped are no longer claimed.
    async fn claim_into(
        &self,
        queue: &mpsc::Sender<Claimed>,
        shared: &Shared,
        counts: &Mutex<SweepCounts>,
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
            // Measured before asking, so the deadline is never later than the lease itself.
            let deadline = Instant::now() + self.settings.lease.to_std().unwrap_or_default();
            let batch = match self
                .stores
                .refresh
                .claim_due_except(
                    as_of,
                    &lease,
                    self.settings.batch_size,
                    &shared.lanes.stopped(),
                )
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    shared.stop();
                    return Err(e);
                }
            };
            metrics::histogram!("tokenkeeper_claim_batch_seconds")
                .record(started.elapsed().as_secs_f64());
            if batch.is_empty() {
                break;
            }
            skip_unreadable(batch.unreadable, counts);
            for account in batch.accounts {
                if queue.send(Claimed { account, deadline }).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Accounts whose rows do not read (their stored tokens do not open, say) are never refreshed:
/// sending LinkedIn a token that someone planted would renew it as the member's. Each is
/// counted and logged by its row (the error names it, never a value); its claim lapses with
/// its lease.
fn skip_unreadable(unreadable: Vec<StoreError>, counts: &Mutex<SweepCounts>) {
    for error in unreadable {
        tracing::error!(error = %error, "not refreshing an account whose stored row cannot be read");
        super::refresh_metrics::unreadable_skipped();
        let mut counts = counts.lock().expect("sweep lock");
        counts.due += 1;
        counts.unreadable += 1;
    }
}

/// A claimed account and when its claim lapses.
struct Claimed {
    account: Account,
    deadline: Instant,
}

struct Worker {
    store: Arc<dyn RefreshStore>,
    shared: Arc<Shared>,
    counts: Arc<Mutex<SweepCounts>>,
    store_error: Arc<Mutex<Option<String>>>,
    run_id: i64,
    as_of: DateTime<Utc>,
}

impl Worker {
    /// Handles one account in a task of its own, so that a panic (a bug) is caught: it fails
    /// the run, stops the sweep, and the account's claim is released rather than left to lapse.
    async fn handle_guarded(self: Arc<Self>, claimed: Claimed) {
        let account = claimed.account.clone();
        let worker = self.clone();
        let span = tracing::info_span!("refresh", account_id = account.id);
        let Err(e) =
            tokio::spawn(async move { worker.handle(claimed).await }.instrument(span)).await
        else {
            return;
        };
        // The payload is not logged: nothing guarantees it is free of secrets.
        tracing::error!(
            account_id = account.id,
            cancelled = e.is_cancelled(),
            "a refresh panicked; the sweep stops and the run fails"
        );
        metrics::counter!("tokenkeeper_refresh_panics_total").increment(1);
        self.shared.panics.fetch_add(1, Ordering::Relaxed);
        self.shared.stop();
        self.release(&account, &[]).await;
    }

    async fn handle(&self, claimed: Claimed) {
        let Claimed { account, deadline } = claimed;
        self.count(|c| c.due += 1);
        let lane = self.shared.lane(&account.provider);
        // An account that waited in the queue until its claim lapsed is left for the next
        // slot: another process may already have taken it over. So is one whose provider's
        // part of the sweep has stopped.
        if lane.stopping() || deadline <= Instant::now() {
            self.release(&account, &[]).await;
            return;
        }
        let started = std::time::Instant::now();
        let refreshing = refresh_account(
            &self.shared,
            &account,
            self.as_of,
            Some(self.run_id),
            deadline,
        );
        // `refresh_account` stops by itself before a call is sent and between attempts. Once
        // a call is sent to a network that rotates refresh tokens (X, TikTok, a standard
        // server), its answer is awaited (within the provider's time-out) and written:
        // dropping it would lose the new refresh token, the old one being spent. Elsewhere
        // (LinkedIn, Google) the held refresh token stays good, so a stopping sweep (or
        // provider's part of it) need not wait for a network that hangs.
        let rotates = self
            .shared
            .providers
            .find(&account.provider)
            .is_some_and(|p| p.capabilities().rotation == Rotation::SingleUse);
        let (verdict, log) = if rotates {
            refreshing.await
        } else {
            tokio::select! {
                // An answer that has arrived is written even if the sweep stops at the same
                // moment.
                biased;
                done = refreshing => done,
                () = lane.halt.cancelled() => {
                    self.release(&account, &[]).await;
                    return;
                }
            }
        };
        let (write, log) = match verdict {
            Verdict::Write(write) => (write, log),
            Verdict::Rejected { error } => match self.rejected(&account, error, log).await {
                Some((write, log)) => (write, log),
                None => return,
            },
            Verdict::StopProvider(why) => {
                lane.stop(Some(why));
                self.release(&account, &log).await;
                return;
            }
        };
        self.write(&account, write, &log, started).await;
    }

    /// Writes an outcome back under the claimed version and counts it.
    async fn write(
        &self,
        account: &Account,
        write: RefreshWrite,
        log: &[crate::store::RefreshLogEntry],
        started: std::time::Instant,
    ) {
        let result = write.result();
        match super::write_back::complete_refresh(self.store.as_ref(), account, &write, log).await {
            Ok(true) => {
                super::refresh_metrics::result_written(
                    &account.provider,
                    result,
                    started.elapsed().as_secs_f64(),
                );
                self.count(|c| match &write {
                    RefreshWrite::Refreshed { .. } => c.refreshed += 1,
                    RefreshWrite::Failing { .. } => c.failing += 1,
                    RefreshWrite::NeedsReconnect { .. } => c.needs_reconnect += 1,
                    RefreshWrite::Postponed { .. } | RefreshWrite::Release => c.skipped += 1,
                });
                log_result(account, &write);
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
                self.shared.stop();
                self.count(|c| c.skipped += 1);
            }
        }
    }

    /// An unexplained refusal is this account's failure for this slot; after
    /// `max_rejected_slots` consecutive slots of it, its member is asked to reconnect (at the
    /// end of the sweep: `None` means the account is held until then).
    async fn rejected(
        &self,
        account: &Account,
        error: String,
        log: Vec<crate::store::RefreshLogEntry>,
    ) -> Option<(RefreshWrite, Vec<crate::store::RefreshLogEntry>)> {
        let earlier = match self.store.refresh_log_for(account.id).await {
            Ok(log) => consecutive_rejected_slots(&log),
            Err(e) => {
                tracing::warn!(account_id = account.id, error = %crate::telemetry::error_chain(&e), "cannot read the refresh log; counting this refusal as the first");
                0
            }
        };
        metrics::counter!("tokenkeeper_refresh_rejected_total").increment(1);
        if earlier + 1 >= self.shared.settings.max_rejected_slots as usize {
            self.shared
                .escalations
                .lock()
                .expect("sweep lock")
                .push(Escalation {
                    account: account.clone(),
                    log,
                    error: format!(
                        "{} refused this account in {} consecutive slots: {error}",
                        self.network(account),
                        earlier + 1
                    ),
                });
            return None;
        }
        // Not emailed yet: it may be the network's passing mood about this member.
        let write = RefreshWrite::Failing {
            error,
            at: self.as_of,
            notifications: Vec::new(),
        };
        Some((write, log))
    }

    /// Starts the reconnect episodes held until the end of the sweep, or releases them.
    async fn settle_escalations(&self, settle: Settle) {
        let held = std::mem::take(&mut *self.shared.escalations.lock().expect("sweep lock"));
        for Escalation {
            account,
            mut log,
            error,
        } in held
        {
            // Refusals from a provider that refused our client are ours, not the member's.
            let settle = if self.shared.lanes.is_misconfigured(&account.provider) {
                Settle::Ours
            } else {
                settle
            };
            if settle == Settle::Ours {
                for entry in &mut log {
                    entry.outcome = RefreshOutcome::Misconfiguration;
                }
            }
            if settle != Settle::Escalate {
                self.release(&account, &log).await;
                continue;
            }
            let write = RefreshWrite::NeedsReconnect {
                error,
                at: self.as_of,
                notifications: self
                    .shared
                    .notify
                    .on_permanent_failure(&account, self.as_of),
            };
            self.write(&account, write, &log, std::time::Instant::now())
                .await;
        }
    }

    async fn release(&self, account: &Account, log: &[crate::store::RefreshLogEntry]) {
        self.count(|c| c.skipped += 1);
        if let Err(e) = self
            .store
            .complete_refresh(account, &RefreshWrite::Release, log)
            .await
        {
            // The lease runs out by itself; the account is only delayed.
            tracing::warn!(account_id = account.id, error = %crate::telemetry::error_chain(&e), "could not release a claim");
        }
    }

    /// How `account`'s network is named to people.
    fn network(&self, account: &Account) -> String {
        self.shared.providers.find(&account.provider).map_or_else(
            || account.provider.to_string(),
            |p| p.display_name().to_owned(),
        )
    }

    fn count(&self, change: impl FnOnce(&mut SweepCounts)) {
        change(&mut self.counts.lock().expect("sweep lock"));
    }
}

/// How many of the latest runs, in a row, ended this account's attempts with a rejection
/// (each run's last log entry decides).
fn consecutive_rejected_slots(log: &[crate::store::RefreshLogEntry]) -> usize {
    let mut slots = 0;
    let mut current_run = None;
    for entry in log.iter().rev() {
        if current_run == Some(entry.run_id) {
            continue;
        }
        current_run = Some(entry.run_id);
        if entry.outcome != RefreshOutcome::Rejected {
            break;
        }
        slots += 1;
    }
    slots
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
        RefreshWrite::Postponed { until, .. } => tracing::info!(
            account_id = account.id,
            user_id = %account.user_id,
            next_refresh = %until,
            "too early to refresh; due again then"
        ),
        RefreshWrite::Release => {}
    }
}

#[cfg(test)]
mod tests {
    use super::consecutive_rejected_slots;
    use crate::domain::RefreshOutcome::{self, Misconfiguration, Refreshed, Rejected, Transient};
    use crate::store::RefreshLogEntry;

    fn entry(run_id: i64, outcome: RefreshOutcome) -> RefreshLogEntry {
        RefreshLogEntry {
            account_id: 1,
            run_id: Some(run_id),
            attempted_at: chrono::Utc::now(),
            duration_ms: 1,
            outcome,
            http_status: None,
            error_code: None,
            attempt: 1,
        }
    }

    #[test]
    fn counts_only_the_latest_unbroken_run_of_rejected_slots() {
        assert_eq!(consecutive_rejected_slots(&[]), 0);
        let log = [
            entry(1, Rejected),
            entry(2, Refreshed),
            // A run that ended rejected after a transient attempt counts once.
            entry(3, Transient),
            entry(3, Rejected),
            entry(4, Rejected),
        ];
        assert_eq!(consecutive_rejected_slots(&log), 2);
        // A run ending otherwise breaks the streak, whatever came before in it.
        let log = [entry(1, Rejected), entry(2, Rejected), entry(2, Transient)];
        assert_eq!(consecutive_rejected_slots(&log), 0);
        // Relabelled slots (the refusal turned out to be ours) never count.
        let log = [entry(1, Rejected), entry(2, Misconfiguration)];
        assert_eq!(consecutive_rejected_slots(&log), 0);
    }
}
