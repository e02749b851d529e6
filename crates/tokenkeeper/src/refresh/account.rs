//! One account's refresh: decide, call LinkedIn (retrying what may pass), and say what must be
//! written back. Nothing here writes; the sweep does, under the claim's version.

use super::refresh_metrics;
use super::shared::{Shared, Stop};
use crate::domain::EnumText;
use crate::domain::ProviderKind;
use crate::domain::{Account, RefreshOutcome, TokenSet};
use crate::provider::{
    keep_or_replace_refresh_token, FailureClass, HeldGrant, Provider, ProviderError, RefreshStyle,
    Renewal,
};
use crate::store::{RefreshLogEntry, RefreshWrite};
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use std::time::Instant;

/// What became of one account, for the sweep's counts and write-back.
pub enum Verdict {
    Write(RefreshWrite),
    /// LinkedIn refused this account with an answer it does not document: the sweep decides,
    /// from the account's history, whether this slot is one more failure or the last straw.
    Rejected {
        error: String,
    },
    /// This provider's part of the sweep must stop; the account is left as it was.
    StopProvider(Stop),
}

/// Accounts that must get the same unexplained answer before it is taken as being about our
/// client rather than about each of them.
const REPEATS_FOR_MISCONFIGURATION: usize = 3;

/// `claim_deadline` is when this account's claim lapses: no pause may reach past it, or
/// another process could take the account over while we still hold its refresh token.
pub async fn refresh_account(
    shared: &Shared,
    account: &Account,
    now: DateTime<Utc>,
    run_id: Option<i64>,
    claim_deadline: tokio::time::Instant,
) -> (Verdict, Vec<RefreshLogEntry>) {
    let mut log = Vec::new();
    let entry =
        |attempt: i32, started: Instant, outcome: RefreshOutcome, err: Option<&ProviderError>| {
            RefreshLogEntry {
                account_id: account.id,
                run_id,
                attempted_at: now,
                duration_ms: started.elapsed().as_millis() as i64,
                outcome,
                http_status: err.and_then(ProviderError::http_status).map(i32::from),
                error_code: err.and_then(|e| e.code().map(str::to_owned)),
                attempt,
            }
        };

    let provider = match shared.providers.get(&account.provider) {
        Ok(provider) => provider,
        Err(error) => {
            // A row naming a provider the configuration no longer has: the operator's to fix,
            // and nothing to tell the member. The account stays as it is, and so do the
            // others of that name: the sweep claims none of them again.
            tracing::error!(account_id = account.id, error = %error, "account left as it is");
            shared.lane(&account.provider).stop(None);
            return (Verdict::Write(RefreshWrite::Release), log);
        }
    };
    // Without what the network renews with there is nothing to call: the member must
    // reconnect.
    let held = match renewable(provider.as_ref(), account, now) {
        Ok(held) => held,
        Err(reason) => {
            log.push(entry(
                0,
                Instant::now(),
                RefreshOutcome::NoRefreshToken,
                None,
            ));
            let notifications = shared.notify.on_no_refresh_token(account, now);
            return (
                Verdict::Write(RefreshWrite::NeedsReconnect {
                    error: reason,
                    at: now,
                    notifications,
                }),
                log,
            );
        }
    };
    let lane = shared.lane(&account.provider);
    let network = provider.display_name();
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(shared.settings.retry_initial)
        .with_max_delay(shared.settings.retry_max_total)
        .with_jitter()
        .with_max_times(shared.settings.max_attempts.saturating_sub(1) as usize)
        .build();
    let retrying_since = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        tokio::select! {
            () = shared.pacing.ready(&account.provider) => {}
            // Nothing was asked yet, so stopping here loses nothing: the account is released
            // as it is. Once the call below is sent, its answer is awaited and written.
            () = lane.halt.cancelled() => return (Verdict::Write(RefreshWrite::Release), log),
        }
        let started = Instant::now();
        let result = provider.refresh(&held, now).await;
        refresh_metrics::call_timed(&account.provider, started.elapsed().as_secs_f64());
        let error = match result {
            Ok(Renewal::TooEarly { retry_at }) => {
                // Not a failure and not new tokens (Instagram and Threads renew only tokens a
                // day old): the account is due again when the network will renew it.
                lane.breaker.record(false);
                tracing::info!(account_id = account.id, %retry_at, "too early to refresh; due again then");
                return (
                    Verdict::Write(RefreshWrite::Postponed {
                        until: retry_at.max(now),
                        at: now,
                    }),
                    log,
                );
            }
            Ok(Renewal::Renewed(tokens)) => {
                lane.breaker.record(false);
                let outcome = RefreshOutcome::Refreshed;
                log.push(entry(attempt, started, outcome, None));
                refresh_metrics::call_counted(&account.provider, outcome);
                let write = refreshed(shared, provider.as_ref(), account, tokens, now);
                return (Verdict::Write(write), log);
            }
            Err(error) => error,
        };
        let class = error.class();
        let outcome = failed_call(class);
        refresh_metrics::call_counted(&account.provider, outcome);
        log.push(entry(attempt, started, outcome, Some(&error)));
        tracing::warn!(
            account_id = account.id,
            attempt,
            class = outcome.as_str(),
            error = %error,
            "refresh call failed"
        );
        match class {
            FailureClass::Permanent => {
                lane.breaker.record(false);
                let notifications = shared.notify.on_permanent_failure(account, now);
                return (
                    Verdict::Write(RefreshWrite::NeedsReconnect {
                        error: error.to_string(),
                        at: now,
                        notifications,
                    }),
                    log,
                );
            }
            FailureClass::Misconfiguration => {
                return (
                    Verdict::StopProvider(Stop::Misconfigured(error.to_string())),
                    log,
                );
            }
            FailureClass::Rejected => {
                // The network answered: whatever this is, it is not an outage.
                lane.breaker.record(false);
                let accounts = shared.rejected_by(&error, account);
                if accounts >= REPEATS_FOR_MISCONFIGURATION {
                    // Logged as ours, so this slot never counts against the member.
                    if let Some(last) = log.last_mut() {
                        last.outcome = RefreshOutcome::Misconfiguration;
                    }
                    return (
                        Verdict::StopProvider(Stop::Misconfigured(format!(
                            "{accounts} accounts got the same unexplained answer: {error}"
                        ))),
                        log,
                    );
                }
                return (
                    Verdict::Rejected {
                        error: error.to_string(),
                    },
                    log,
                );
            }
            FailureClass::Transient => {
                if lane.breaker.record(true) {
                    return (
                        Verdict::StopProvider(Stop::Degraded(format!(
                            "circuit breaker opened: {network} is failing"
                        ))),
                        log,
                    );
                }
                // What this account may still wait: within the retry budget, and ending early
                // enough that one more call finishes before the claim lapses.
                let budget = shared
                    .settings
                    .retry_max_total
                    .saturating_sub(retrying_since.elapsed())
                    .min(
                        claim_deadline
                            .saturating_duration_since(tokio::time::Instant::now())
                            .saturating_sub(provider.timeout()),
                    );
                if let Some(asked) = error.retry_after().filter(|asked| *asked > budget) {
                    // The network throttles the whole app: waiting longer than we may would hold
                    // every claim hostage, so its part of the sweep ends and the next slot
                    // catches up. The other networks' go on.
                    return (
                        Verdict::StopProvider(Stop::Degraded(format!(
                            "{network} is rate limiting us and asked for a pause of {}s, longer than this sweep may wait",
                            asked.as_secs()
                        ))),
                        log,
                    );
                }
                let next = delays.next().map(|backoff| {
                    // Honour LinkedIn's Retry-After when it sends one; it is undocumented and
                    // often absent, so our own backoff is the fallback.
                    error
                        .retry_after()
                        .map_or(backoff, |asked| asked.max(backoff))
                });
                if error.is_rate_limited() {
                    // Every caller of this network in the process waits what it asked, even
                    // when this account has no attempt left (always so on demand): the
                    // throttle is the app's, not the account's. Other networks are not slowed.
                    let pause = next
                        .or(error.retry_after())
                        .unwrap_or(shared.settings.retry_initial);
                    shared
                        .pacing
                        .slow_down(&account.provider, pause.min(budget));
                }
                match next {
                    Some(delay) if delay <= budget && !lane.stopping() => {
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            // Between calls nothing is in flight: stopping loses nothing, and
                            // the failed attempts are recorded.
                            () = lane.halt.cancelled() => {
                                return (Verdict::Write(RefreshWrite::Release), log);
                            }
                        }
                    }
                    _ => {
                        let notifications = shared.notify.on_transient_failure(account, now);
                        return (
                            Verdict::Write(RefreshWrite::Failing {
                                error: error.to_string(),
                                at: now,
                                notifications,
                            }),
                            log,
                        );
                    }
                }
            }
        }
    }
}

/// What the account holds for a refresh in `provider`'s way, or why only its member can renew
/// it: a network with a refresh grant needs a live refresh token; one that renews the access
/// token itself (Instagram, Threads, Facebook) needs that token alive.
pub(super) fn renewable<'a>(
    provider: &dyn Provider,
    account: &'a Account,
    now: DateTime<Utc>,
) -> Result<HeldGrant<'a>, String> {
    let network = provider.display_name();
    let held = HeldGrant {
        access_token: &account.token,
        token_expires_at: account.token_expires_at,
        refresh_token: account.refresh_token.as_ref(),
        issued_at: account.last_refreshed_at.unwrap_or(account.linked_at),
    };
    match provider.capabilities().refresh {
        RefreshStyle::RefreshToken => {
            match (&account.refresh_token, account.refresh_token_expires_at) {
                (Some(_), horizon) if horizon.is_none_or(|end| end > now) => Ok(held),
                (Some(_), _) => Err(if provider.kind() == ProviderKind::LinkedIn {
                    "the refresh token has reached the end of its 365-day life".to_owned()
                } else {
                    format!("the {network} refresh token has reached the end of its life")
                }),
                (None, _) => Err(if provider.kind() == ProviderKind::LinkedIn {
                    "LinkedIn gave this app no refresh token (no partner access)".to_owned()
                } else {
                    format!("{network} gave no refresh token for this account")
                }),
            }
        }
        RefreshStyle::ExchangeAccessToken if account.token_expires_at > now => Ok(held),
        RefreshStyle::ExchangeAccessToken => Err(format!(
            "the {network} access token has expired, and {network} renews only live tokens"
        )),
    }
}

/// How a failed call is logged and counted: as what LinkedIn's answer means.
fn failed_call(class: FailureClass) -> RefreshOutcome {
    match class {
        FailureClass::Transient => RefreshOutcome::Transient,
        FailureClass::Permanent => RefreshOutcome::Permanent,
        FailureClass::Misconfiguration => RefreshOutcome::Misconfiguration,
        FailureClass::Rejected => RefreshOutcome::Rejected,
    }
}

/// New tokens from a refresh. The network may or may not send the refresh token back; when it
/// does not, the one we have stays, with its original (never extended) end of life
/// (`keep_or_replace_refresh_token`). The next refresh falls due by the provider's policy.
fn refreshed(
    shared: &Shared,
    provider: &dyn Provider,
    account: &Account,
    tokens: TokenSet,
    now: DateTime<Utc>,
) -> RefreshWrite {
    let tokens = keep_or_replace_refresh_token(
        account.refresh_token.as_ref(),
        account.refresh_token_expires_at,
        tokens,
    );
    let expiration = provider
        .expiry_policy(shared.settings.expiry())
        .next_refresh_due(
            now,
            tokens.token_expires_at,
            tokens.refresh_token_expires_at,
        );
    RefreshWrite::Refreshed {
        tokens,
        expiration,
        at: now,
    }
}
