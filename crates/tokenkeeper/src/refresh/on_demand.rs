//! One account refreshed when the host app asks, through the sweep's own path: claimed under
//! a lease (so never while a sweep or another request holds it), refreshed by
//! `refresh_account`, written back under the claimed version with its audit rows. The audit
//! rows carry no run id: that is how an operator tells a request from a sweep.
//!
//! A request has someone waiting, so LinkedIn is called once, never retried: a passing
//! failure releases the account untouched for the sweep to handle, rather than marking it
//! failing under a claim that would refuse the next request for a whole lease.

use super::account::{refresh_account, renewable, Verdict};
use super::shared::{Shared, Stop};
use super::RefreshEngine;
use crate::domain::EnumText;
use crate::domain::{Account, ProviderName, RefreshOutcome, UserId};
use crate::provider::FailureClass;
use crate::store::{Lease, OneClaim, RefreshLogEntry, RefreshWrite, StoreError};
use chrono::{DateTime, Utc};
use strum::{IntoStaticStr, VariantArray};
use tracing::Instrument;

/// Why the host app asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Demand {
    /// Refresh now rather than at `expiration`.
    Refresh,
    /// The host app saw LinkedIn reject the access token: confirm, and if it is dead, start the
    /// reconnect episode at once.
    ConfirmInvalid,
}

impl EnumText for Demand {
    const WHAT: &'static str = "demand";
}

impl Demand {}

/// What became of a request. Only `Refreshed` and `NeedsReconnect` changed the account.
#[derive(Debug)]
pub enum OnDemand {
    Unknown,
    /// Another process holds a claim on the account (a sweep refreshing it, say).
    Busy,
    /// New tokens are stored; the account as it is now.
    Refreshed(Account),
    /// LinkedIn confirmed the token dead: the reconnect episode has started.
    NeedsReconnect(Account),
    /// LinkedIn accepts the access token: nothing was changed.
    TokenWorks(Account),
    /// There is no live refresh token to refresh with; only the member can renew the token.
    NoRefreshToken,
    /// LinkedIn did not answer usefully (down, slow, throttling); nothing was changed.
    Unavailable(String),
    /// LinkedIn refused our client: the operator must act; nothing was changed.
    Misconfigured(String),
    /// LinkedIn refused this account with an answer it does not document; nothing was changed
    /// but the audit row.
    Rejected(String),
    /// The account was replaced or deleted while LinkedIn was being asked: the result was
    /// discarded, as a sweep's would be.
    Discarded,
    /// The network renews this token only from `retry_at` (Instagram and Threads, for a token
    /// under a day old); the account is due again then, and its token works meanwhile.
    TooEarly {
        retry_at: DateTime<Utc>,
    },
}

impl RefreshEngine {
    /// Refreshes (or checks) one user's account now. `Err` only when storage fails.
    ///
    /// The work runs in a task of the engine's, not in the caller's future: a caller that goes
    /// away (a client hanging up, a request timing out, a connection closed at shutdown) loses
    /// only the answer. Whatever LinkedIn answers is written, with its audit rows, and the
    /// claim released; a token LinkedIn issued is never thrown away with a request.
    pub async fn on_demand(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        demand: Demand,
    ) -> Result<OnDemand, StoreError> {
        let engine = self.clone();
        let (provider, user_id) = (provider.clone(), user_id.clone());
        let work = self.demands.spawn(
            async move { engine.run_demand(&provider, &user_id, demand).await }.in_current_span(),
        );
        match work.await {
            Ok(answer) => answer,
            // A panic (a bug), or the runtime stopping under it: the caller sees it as it would
            // have without the task.
            Err(error) => std::panic::resume_unwind(
                error
                    .try_into_panic()
                    .unwrap_or_else(|error| Box::new(error.to_string())),
            ),
        }
    }

    /// Stops the refreshes on demand that have not asked LinkedIn yet (a pause LinkedIn asked
    /// for, say: their accounts are released untouched) and waits, up to `grace`, for those
    /// LinkedIn is answering to write what it answers.
    pub async fn drain_demands(&self, grace: std::time::Duration) {
        self.shutdown.cancel();
        self.demands.close();
        if tokio::time::timeout(grace, self.demands.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.demands.len(),
                "refreshes on demand still running at shutdown; their claims lapse with their lease"
            );
        }
    }

    async fn run_demand(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        demand: Demand,
    ) -> Result<OnDemand, StoreError> {
        let now = self.clock.now();
        let lease = Lease {
            holder: self.instance.clone(),
            now,
            until: now + self.settings.lease,
        };
        let deadline =
            tokio::time::Instant::now() + self.settings.lease.to_std().unwrap_or_default();
        let account = match self
            .stores
            .host_api
            .claim_one(provider, user_id, &lease)
            .await?
        {
            OneClaim::Claimed(account) => *account,
            OneClaim::Held => return Ok(OnDemand::Busy),
            OneClaim::Unknown => return Ok(OnDemand::Unknown),
        };
        let span =
            tracing::info_span!("refresh", account_id = account.id, demand = demand.as_str());
        async {
            let (write, log, answer) = self.decide(&account, demand, now, deadline).await;
            let kept = super::write_back::complete_refresh(
                self.stores.refresh.as_ref(),
                &account,
                &write,
                &log,
            )
            .await?;
            if !kept {
                tracing::warn!("the account changed while LinkedIn was asked; the result was discarded");
                return Ok(OnDemand::Discarded);
            }
            let Some(now_stored) = self.stores.accounts.account_by_id(account.id).await? else {
                return Ok(OnDemand::Discarded);
            };
            Ok(match answer {
                Answer::Refreshed => {
                    tracing::info!(token_expires_at = %now_stored.token_expires_at, "token refreshed on demand");
                    OnDemand::Refreshed(now_stored)
                }
                Answer::NeedsReconnect => {
                    tracing::warn!("LinkedIn confirmed the token dead; the member is asked to reconnect");
                    OnDemand::NeedsReconnect(now_stored)
                }
                Answer::TokenWorks => OnDemand::TokenWorks(now_stored),
                Answer::Other(other) => *other,
            })
        }
        .instrument(span)
        .await
    }

    /// What to write back (always something, if only the release of the claim), the audit
    /// rows, and the answer.
    async fn decide(
        &self,
        account: &Account,
        demand: Demand,
        now: DateTime<Utc>,
        deadline: tokio::time::Instant,
    ) -> (RefreshWrite, Vec<RefreshLogEntry>, Answer) {
        let shared = self.single_call();
        // What the network renews with is still alive (a refresh token, or the access token
        // itself for the networks that exchange it).
        let live_refresh_token = self
            .providers
            .get(&account.provider)
            .is_ok_and(|provider| renewable(provider.as_ref(), account, now).is_ok());
        if demand == Demand::ConfirmInvalid {
            let started = std::time::Instant::now();
            let checked = match self.providers.get(&account.provider) {
                Ok(provider) => provider.check_access_token(&account.token).await,
                Err(error) => Err(error),
            };
            let entry = |outcome, status: Option<u16>, code: Option<&str>| RefreshLogEntry {
                account_id: account.id,
                run_id: None,
                attempted_at: now,
                duration_ms: started.elapsed().as_millis() as i64,
                outcome,
                http_status: status.map(i32::from),
                error_code: code.map(str::to_owned),
                attempt: 0,
            };
            match checked {
                Ok(()) => {
                    tracing::info!("LinkedIn accepts the access token the host app reported");
                    let log = vec![entry(RefreshOutcome::AccessTokenWorks, Some(200), None)];
                    return (RefreshWrite::Release, log, Answer::TokenWorks);
                }
                Err(error) => {
                    let log = vec![entry(
                        RefreshOutcome::AccessTokenRejected,
                        error.http_status(),
                        error.code(),
                    )];
                    match error.class() {
                        FailureClass::Permanent if !live_refresh_token => {
                            // Nothing can renew it but the member: the episode starts now
                            // rather than at `expiration`.
                            let write = RefreshWrite::NeedsReconnect {
                                error: format!("the host app reported the access token rejected, and LinkedIn confirmed: {error}"),
                                at: now,
                                notifications: self.notify.on_permanent_failure(account, now),
                            };
                            return (write, log, Answer::NeedsReconnect);
                        }
                        // Dead, but a refresh may renew it: the refresh decides, below.
                        FailureClass::Permanent => {
                            let (write, mut refresh_log, answer) =
                                self.refresh_once(&shared, account, now, deadline).await;
                            let mut all = log;
                            all.append(&mut refresh_log);
                            return (write, all, answer);
                        }
                        FailureClass::Transient => {
                            return (
                                RefreshWrite::Release,
                                log,
                                Answer::Other(Box::new(OnDemand::Unavailable(error.to_string()))),
                            )
                        }
                        // userinfo refuses for a reason that says nothing about the token (a
                        // scope the app lacks, say): only a refresh can tell.
                        FailureClass::Misconfiguration | FailureClass::Rejected => {
                            if !live_refresh_token {
                                return (
                                    RefreshWrite::Release,
                                    log,
                                    Answer::Other(Box::new(OnDemand::Unavailable(format!(
                                        "LinkedIn's answer does not tell whether the token works: {error}"
                                    )))),
                                );
                            }
                        }
                    }
                }
            }
        }
        if !live_refresh_token {
            return (
                RefreshWrite::Release,
                Vec::new(),
                Answer::Other(Box::new(OnDemand::NoRefreshToken)),
            );
        }
        self.refresh_once(&shared, account, now, deadline).await
    }

    async fn refresh_once(
        &self,
        shared: &Shared,
        account: &Account,
        now: DateTime<Utc>,
        deadline: tokio::time::Instant,
    ) -> (RefreshWrite, Vec<RefreshLogEntry>, Answer) {
        let (verdict, log) = refresh_account(shared, account, now, None, deadline).await;
        match verdict {
            Verdict::Write(write @ RefreshWrite::Refreshed { .. }) => {
                (write, log, Answer::Refreshed)
            }
            Verdict::Write(write @ RefreshWrite::NeedsReconnect { .. }) => {
                (write, log, Answer::NeedsReconnect)
            }
            Verdict::Write(RefreshWrite::Failing { error, .. }) => (
                RefreshWrite::Release,
                log,
                Answer::Other(Box::new(OnDemand::Unavailable(error))),
            ),
            Verdict::Write(write @ RefreshWrite::Postponed { until, .. }) => (
                write,
                log,
                Answer::Other(Box::new(OnDemand::TooEarly { retry_at: until })),
            ),
            Verdict::Write(RefreshWrite::Release) => (
                RefreshWrite::Release,
                log,
                Answer::Other(Box::new(OnDemand::Unavailable("nothing was done".into()))),
            ),
            Verdict::Rejected { error } => (
                RefreshWrite::Release,
                log,
                Answer::Other(Box::new(OnDemand::Rejected(error))),
            ),
            Verdict::StopProvider(Stop::Misconfigured(message)) => {
                tracing::error!(error = %message, "LinkedIn rejected our request as misconfigured; check linkedin.client_id, linkedin.client_secret and the token URL");
                (
                    RefreshWrite::Release,
                    log,
                    Answer::Other(Box::new(OnDemand::Misconfigured(message))),
                )
            }
            Verdict::StopProvider(Stop::Degraded(message)) => (
                RefreshWrite::Release,
                log,
                Answer::Other(Box::new(OnDemand::Unavailable(message))),
            ),
        }
    }

    /// What `refresh_account` shares with a sweep's workers, for one call: no retry, its own
    /// breaker, the process's one pacing (so a 429 seen here pauses the sweeps' calls to the
    /// same network too), stopped with the process.
    fn single_call(&self) -> Shared {
        let mut settings = self.settings.clone();
        settings.max_attempts = 1;
        Shared::new(
            self.providers.clone(),
            settings,
            self.notify.clone(),
            self.pacing.clone(),
            self.shutdown.child_token(),
        )
    }
}

enum Answer {
    Refreshed,
    NeedsReconnect,
    TokenWorks,
    Other(Box<OnDemand>),
}
