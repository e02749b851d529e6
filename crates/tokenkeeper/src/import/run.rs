//! An import from start to end: rows stream in from a reading thread, are checked, completed
//! by LinkedIn (introspection, userinfo), planned and written batch by batch. A bad row is reported and skipped;
//! only a problem with the whole import (the file, the database, our LinkedIn client) stops it.

use super::lookups::{Holder, TokenLookups};
use super::plan::{needs_holder, needs_introspection, plan};
use super::read::{Rows, SourceError, SourceRow};
use super::row::{RawRow, ValidRow};
use crate::domain::{Clock, ImportDecision, ImportedAccount, NotificationPolicy, UserId};
use crate::provider::{FailureClass, Introspection, ProviderError};
use crate::store::{ImportStore, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Rows read, checked and written together, in one transaction.
pub const BATCH_ROWS: usize = 1000;

/// Per-row errors kept for the report; past this, they are only counted (and, on a terminal,
/// printed as they come).
const LISTED_ERRORS: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Ask LinkedIn about tokens whose expiry or member the row leaves out.
    pub introspect: bool,
    /// Check and introspect, decide, write nothing.
    pub dry_run: bool,
}

/// One rejected row: its line and why, never its tokens.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Rows read, good and bad.
    pub rows: u64,
    pub created: u64,
    pub replaced: u64,
    pub unchanged: u64,
    /// Rows whose account already holds newer tokens, which were kept.
    pub newer_kept: u64,
    /// Of the accounts created or replaced, those whose member must reconnect.
    pub needs_reconnect: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
    /// Row errors beyond those listed.
    pub errors_not_listed: u64,
    /// Why the import stopped before the end of the file, if it did.
    pub stopped: Option<String>,
}

impl ImportReport {
    fn tally(&mut self, decision: ImportDecision, account: &ImportedAccount) {
        match decision {
            ImportDecision::Create => self.created += 1,
            ImportDecision::Replace { .. } => self.replaced += 1,
            ImportDecision::Unchanged => self.unchanged += 1,
            ImportDecision::NewerKept => self.newer_kept += 1,
        }
        if matches!(
            decision,
            ImportDecision::Create | ImportDecision::Replace { .. }
        ) && account.status == crate::domain::AccountStatus::NeedsReconnect
        {
            self.needs_reconnect += 1;
        }
    }

    fn fail(&mut self, error: RowError, on_error: &mut dyn FnMut(&RowError)) {
        self.failed += 1;
        on_error(&error);
        if self.errors.len() < LISTED_ERRORS {
            self.errors.push(error);
        } else {
            self.errors_not_listed += 1;
        }
    }
}

/// Why one row (from the API) was not imported.
#[derive(Debug, thiserror::Error)]
pub enum OneRowError {
    #[error("{0}")]
    Invalid(String),
    #[error("LinkedIn could not tell about the access token")]
    LinkedIn(#[source] ProviderError),
    #[error("LinkedIn could not tell whose the access token is")]
    Userinfo(#[source] ProviderError),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Importer {
    pub store: Arc<dyn ImportStore>,
    pub lookups: TokenLookups,
    pub notify: NotificationPolicy,
    pub clock: Arc<dyn Clock>,
}

/// A checked row waiting for its plan.
struct Pending {
    line: u64,
    row: ValidRow,
    seen: Option<Introspection>,
    holder: Option<Holder>,
    /// LinkedIn could not be asked: already reported.
    failed: bool,
}

impl Importer {
    /// Imports one account, as the API does: LinkedIn is asked when the expiry or the member
    /// is unknown.
    pub async fn import_one(
        &self,
        raw: RawRow,
    ) -> Result<(ImportDecision, ImportedAccount), OneRowError> {
        let now = self.clock.now();
        let row = raw.validate().map_err(|p| OneRowError::Invalid(p.0))?;
        let seen = if needs_introspection(&row) {
            Some(
                self.lookups
                    .introspect(&row.access_token, now)
                    .await
                    .map_err(OneRowError::LinkedIn)?,
            )
        } else {
            None
        };
        let holder = if needs_holder(&row) {
            Some(
                self.lookups
                    .holder(&row.access_token)
                    .await
                    .map_err(OneRowError::Userinfo)?,
            )
        } else {
            None
        };
        let account = plan(
            row,
            seen.as_ref(),
            holder.as_ref(),
            &self.lookups.expiry_policy(),
            now,
        )
        .map_err(OneRowError::Invalid)?;
        let notices = |a: &crate::domain::Account| self.notify.on_permanent_failure(a, now);
        let decisions = self
            .store
            .import_accounts(std::slice::from_ref(&account), now, &notices)
            .await?;
        Ok((decisions[0], account))
    }

    /// Imports every row of `rows`. `on_error` sees each bad row as it is found.
    pub async fn import_rows(
        &self,
        rows: Rows,
        options: ImportOptions,
        on_error: &mut dyn FnMut(&RowError),
    ) -> ImportReport {
        let mut report = ImportReport {
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        let (sender, mut receiver) = tokio::sync::mpsc::channel(BATCH_ROWS * 2);
        // Reading is blocking I/O (a file, or a pipe on stdin): it runs on a thread of its
        // own and stays a batch or two ahead of the database.
        let reader = tokio::task::spawn_blocking(move || {
            for row in rows {
                let stop = row.is_err();
                if sender.blocking_send(row).is_err() || stop {
                    return;
                }
            }
        });
        // Which line first named each user: a 64-bit hash per user, not the user itself, so a
        // million rows cost a few megabytes.
        let mut first_lines: HashMap<u64, u64> = HashMap::new();
        let mut batch: Vec<Result<SourceRow, SourceError>> = Vec::with_capacity(BATCH_ROWS);
        loop {
            batch.clear();
            if receiver.recv_many(&mut batch, BATCH_ROWS).await == 0 {
                break;
            }
            if let Err(stop) = self
                .import_batch(&mut batch, options, &mut first_lines, &mut report, on_error)
                .await
            {
                report.stopped = Some(stop);
                break;
            }
        }
        drop(receiver);
        let _ = reader.await;
        report
    }

    async fn import_batch(
        &self,
        batch: &mut Vec<Result<SourceRow, SourceError>>,
        options: ImportOptions,
        first_lines: &mut HashMap<u64, u64>,
        report: &mut ImportReport,
        on_error: &mut dyn FnMut(&RowError),
    ) -> Result<(), String> {
        let now = self.clock.now();
        let mut pending = Vec::with_capacity(batch.len());
        for read in batch.drain(..) {
            let SourceRow { line, row } = read.map_err(|e| crate::telemetry::error_chain(&e))?;
            report.rows += 1;
            let fail = |message: String| RowError { line, message };
            let row = match row.and_then(|raw| raw.validate().map_err(|p| p.0)) {
                Ok(row) => row,
                Err(message) => {
                    report.fail(fail(message), on_error);
                    continue;
                }
            };
            let first = *first_lines.entry(user_hash(&row.user_id)).or_insert(line);
            if first != line {
                let message = format!(
                    "user_id: {} is already on line {first}; only the first row of a user is imported",
                    row.user_id
                );
                report.fail(fail(message), on_error);
                continue;
            }
            pending.push(Pending {
                line,
                row,
                seen: None,
                holder: None,
                failed: false,
            });
        }
        if options.introspect {
            self.ask_linkedin(&mut pending, now, report, on_error)
                .await?;
        }
        let mut planned = Vec::with_capacity(pending.len());
        for p in pending {
            if p.failed {
                continue; // already reported
            }
            match plan(
                p.row,
                p.seen.as_ref(),
                p.holder.as_ref(),
                &self.lookups.expiry_policy(),
                now,
            ) {
                Ok(account) => planned.push(account),
                Err(message) => report.fail(
                    RowError {
                        line: p.line,
                        message,
                    },
                    on_error,
                ),
            }
        }
        let decisions = self
            .decide(&planned, options.dry_run, now)
            .await
            .map_err(|e| format!("the database failed: {}", crate::telemetry::error_chain(&e)))?;
        for (decision, account) in decisions.into_iter().zip(&planned) {
            report.tally(decision, account);
        }
        Ok(())
    }

    async fn decide(
        &self,
        planned: &[ImportedAccount],
        dry_run: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ImportDecision>, StoreError> {
        if planned.is_empty() {
            return Ok(Vec::new());
        }
        if dry_run {
            let users: Vec<UserId> = planned.iter().map(|a| a.user_id.clone()).collect();
            let stored: HashMap<String, crate::domain::Account> = self
                .store
                .accounts_of_users(&users)
                .await?
                .into_iter()
                .map(|a| (a.user_id.as_str().to_owned(), a))
                .collect();
            return Ok(planned
                .iter()
                .map(|a| a.decide(stored.get(a.user_id.as_str())))
                .collect());
        }
        let notices = |a: &crate::domain::Account| self.notify.on_permanent_failure(a, now);
        self.store.import_accounts(planned, now, &notices).await
    }

    /// Asks LinkedIn about every token of the batch whose expiry or member is unknown, at
    /// most `refresh.concurrency` rows at once. A refusal about our own client stops the
    /// import.
    async fn ask_linkedin(
        &self,
        pending: &mut [Pending],
        now: chrono::DateTime<chrono::Utc>,
        report: &mut ImportReport,
        on_error: &mut dyn FnMut(&RowError),
    ) -> Result<(), String> {
        let permits = Arc::new(Semaphore::new(self.lookups.settings.concurrency.max(1)));
        let mut asked = tokio::task::JoinSet::new();
        for (index, p) in pending.iter().enumerate() {
            let (expiry, member) = (needs_introspection(&p.row), needs_holder(&p.row));
            if !expiry && !member {
                continue;
            }
            let lookups = self.lookups.clone();
            let token = p.row.access_token.clone();
            let permits = permits.clone();
            asked.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let seen = match expiry {
                    true => Some(lookups.introspect(&token, now).await),
                    false => None,
                };
                let holder = match member && !matches!(seen, Some(Err(_))) {
                    true => Some(lookups.holder(&token).await),
                    false => None,
                };
                (index, seen, holder)
            });
        }
        let mut stop = None;
        while let Some(joined) = asked.join_next().await {
            let (index, seen, holder) =
                joined.map_err(|e| format!("a LinkedIn lookup failed: {e}"))?;
            let p = &mut pending[index];
            let problem = match (seen, holder) {
                (Some(Err(error)), _) if error.class() == FailureClass::Misconfiguration => {
                    stop.get_or_insert(format!(
                        "LinkedIn refused our client at introspection (check linkedin.client_id, client_secret and introspect_url): {error}"
                    ));
                    None
                }
                (Some(Err(error)), _) => Some(format!(
                    "LinkedIn could not tell about the access token: {error}"
                )),
                (_, Some(Err(error))) if error.class() == FailureClass::Misconfiguration => {
                    stop.get_or_insert(format!(
                        "LinkedIn refused our userinfo request (check linkedin.userinfo_url): {error}"
                    ));
                    None
                }
                (_, Some(Err(error))) => Some(format!(
                    "member_id: not given, and LinkedIn could not tell whose the access token is: {error}"
                )),
                (seen, holder) => {
                    p.seen = seen.and_then(Result::ok);
                    p.holder = holder.and_then(Result::ok);
                    continue;
                }
            };
            p.failed = true;
            if let Some(message) = problem {
                report.fail(
                    RowError {
                        line: p.line,
                        message,
                    },
                    on_error,
                );
            }
        }
        stop.map_or(Ok(()), Err)
    }
}

fn user_hash(user: &UserId) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    user.hash(&mut hasher);
    hasher.finish()
}
