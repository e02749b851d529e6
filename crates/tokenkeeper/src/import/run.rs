//! An import from start to end: rows stream in from a reading thread, are checked, completed
//! by each row's provider (introspection, userinfo), planned and written batch by batch. A bad
//! row (one naming a provider that is not configured among them) is reported and skipped; only
//! a problem with the whole import (the file, the database, our client at a provider) stops it.

use super::lookups::{Holder, TokenLookups};
use super::plan::{needs_holder, needs_introspection, plan, RowProvider};
use super::read::{Rows, SourceError, SourceRow};
use super::row::{RawRow, ValidRow};
use crate::domain::{
    Clock, ImportDecision, ImportedAccount, NotificationPolicy, ProviderName, UserId,
};
use crate::provider::{FailureClass, Introspection, NotConfigured, Provider, ProviderError};
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
    /// Ask each row's provider about tokens whose expiry or member the row leaves out.
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
    /// The row's provider (`network`, as people write it) could not be asked.
    #[error("{network} could not tell {}", asked.what())]
    Lookup {
        asked: Lookup,
        provider: ProviderName,
        network: String,
        #[source]
        error: ProviderError,
    },
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// What a row's provider was asked, when asking failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Introspection, for an expiry the row leaves out.
    Introspection,
    /// Userinfo: whose the token is when the row leaves the member out, else (a provider that
    /// cannot introspect) whether it still takes the token.
    Userinfo { member_unknown: bool },
}

impl Lookup {
    fn what(self) -> &'static str {
        match self {
            Lookup::Introspection => "about the access token",
            Lookup::Userinfo {
                member_unknown: true,
            } => "whose the access token is",
            Lookup::Userinfo {
                member_unknown: false,
            } => "whether it still takes the access token",
        }
    }
}

/// A row naming a provider the configuration does not have: the row's problem, named by its
/// field, with the providers that are.
fn not_configured(refused: NotConfigured) -> String {
    format!(
        "provider: \"{}\" is not configured; configured: {}",
        refused.name,
        refused.configured.join(", ")
    )
}

/// A row whose provider has no endpoint to ask what the row leaves out: the row's problem
/// (it must give the field itself), not the import's, named with the provider and what it
/// lacks.
fn not_offered(asked: Lookup, provider: &dyn Provider, what: &str) -> String {
    let network = provider.display_name();
    let (field, endpoint, question) = match asked {
        Lookup::Introspection => (
            "token_expires_at",
            "introspection",
            "when the access token ends",
        ),
        Lookup::Userinfo {
            member_unknown: true,
        } => ("member_id", "userinfo", "whose the access token is"),
        Lookup::Userinfo {
            member_unknown: false,
        } => (
            "token_expires_at",
            "userinfo",
            "whether it still takes the access token",
        ),
    };
    let missing = match provider.kind() {
        crate::domain::ProviderKind::Oidc => format!(
            "the discovery document of [providers.{}] names no {endpoint} endpoint",
            provider.name()
        ),
        _ => format!("[providers.{}] sets no {endpoint}_url", provider.name()),
    };
    format!(
        "{field}: not given, and {network} does not offer {what} ({missing}), so it cannot tell {question}; give {field} in the row"
    )
}

/// Where an operator fixes our client at `provider`, for a stopped import's message.
fn settings_of(provider: &dyn Provider, keys: &str) -> String {
    match provider.name() == ProviderName::linkedin_ref() {
        true => keys.to_owned(),
        false => format!("[providers.{}]", provider.name()),
    }
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
    provider: Arc<dyn Provider>,
    seen: Option<Introspection>,
    holder: Option<Holder>,
    /// The provider could not be asked: already reported.
    failed: bool,
}

impl Importer {
    /// What a plan takes from `provider`.
    fn rules<'a>(&self, provider: &'a dyn Provider) -> RowProvider<'a> {
        RowProvider {
            network: provider.display_name(),
            introspects: provider.capabilities().introspection,
            policy: self.lookups.expiry_policy(provider),
        }
    }

    /// Imports one account, as the API does: the row's provider is asked when the expiry or
    /// the member is unknown.
    pub async fn import_one(
        &self,
        raw: RawRow,
    ) -> Result<(ImportDecision, ImportedAccount), OneRowError> {
        let now = self.clock.now();
        let row = raw.validate().map_err(|p| OneRowError::Invalid(p.0))?;
        let provider = (self.lookups.provider(&row.provider))
            .map_err(|refused| OneRowError::Invalid(not_configured(refused)))?
            .clone();
        let rules = self.rules(provider.as_ref());
        let failed = |asked: Lookup| {
            let (name, network) = (row.provider.clone(), rules.network.to_owned());
            let provider = provider.clone();
            move |error: ProviderError| match error.not_offered() {
                Some(what) => OneRowError::Invalid(not_offered(asked, provider.as_ref(), what)),
                None => OneRowError::Lookup {
                    asked,
                    provider: name,
                    network,
                    error,
                },
            }
        };
        let seen = if needs_introspection(&row, &rules) {
            Some(
                self.lookups
                    .introspect(provider.as_ref(), &row.access_token, now)
                    .await
                    .map_err(failed(Lookup::Introspection))?,
            )
        } else {
            None
        };
        let holder = if needs_holder(&row, &rules) {
            let asked = Lookup::Userinfo {
                member_unknown: row.member_id.is_none(),
            };
            Some(
                self.lookups
                    .holder(provider.as_ref(), &row.access_token)
                    .await
                    .map_err(failed(asked))?,
            )
        } else {
            None
        };
        let account =
            plan(row, seen.as_ref(), holder.as_ref(), &rules, now).map_err(OneRowError::Invalid)?;
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
        // Which line first named each user at each provider: a 64-bit hash per pair, not the
        // pair itself, so a million rows cost a few megabytes.
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
            let provider = match self.lookups.provider(&row.provider) {
                Ok(provider) => provider.clone(),
                Err(refused) => {
                    report.fail(fail(not_configured(refused)), on_error);
                    continue;
                }
            };
            let first = *first_lines
                .entry(account_hash(&row.provider, &row.user_id))
                .or_insert(line);
            if first != line {
                let message = format!(
                    "user_id: {} is already on line {first} (provider {}); only the first row of a user at a provider is imported",
                    row.user_id, row.provider
                );
                report.fail(fail(message), on_error);
                continue;
            }
            pending.push(Pending {
                line,
                row,
                provider,
                seen: None,
                holder: None,
                failed: false,
            });
        }
        if options.introspect {
            self.ask_providers(&mut pending, now, report, on_error)
                .await?;
        }
        let mut planned = Vec::with_capacity(pending.len());
        for p in pending {
            if p.failed {
                continue; // already reported
            }
            let rules = self.rules(p.provider.as_ref());
            match plan(p.row, p.seen.as_ref(), p.holder.as_ref(), &rules, now) {
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
            let mut users: HashMap<&ProviderName, Vec<UserId>> = HashMap::new();
            for account in planned {
                let of_provider = users.entry(&account.provider).or_default();
                of_provider.push(account.user_id.clone());
            }
            let mut stored: HashMap<(ProviderName, String), crate::domain::Account> =
                HashMap::new();
            for (provider, users) in users {
                for account in self.store.accounts_of_users(provider, &users).await? {
                    let key = (
                        account.provider.clone(),
                        account.user_id.as_str().to_owned(),
                    );
                    stored.insert(key, account);
                }
            }
            return Ok(planned
                .iter()
                .map(|a| {
                    let key = (a.provider.clone(), a.user_id.as_str().to_owned());
                    a.decide(stored.get(&key))
                })
                .collect());
        }
        let notices = |a: &crate::domain::Account| self.notify.on_permanent_failure(a, now);
        self.store.import_accounts(planned, now, &notices).await
    }

    /// Asks each row's provider about every token of the batch whose expiry or member is
    /// unknown, at most `refresh.concurrency` rows at once. A refusal about our own client
    /// stops the import.
    async fn ask_providers(
        &self,
        pending: &mut [Pending],
        now: chrono::DateTime<chrono::Utc>,
        report: &mut ImportReport,
        on_error: &mut dyn FnMut(&RowError),
    ) -> Result<(), String> {
        let permits = Arc::new(Semaphore::new(self.lookups.settings.concurrency.max(1)));
        let mut asked = tokio::task::JoinSet::new();
        for (index, p) in pending.iter().enumerate() {
            let rules = self.rules(p.provider.as_ref());
            let (expiry, member) = (
                needs_introspection(&p.row, &rules),
                needs_holder(&p.row, &rules),
            );
            if !expiry && !member {
                continue;
            }
            let lookups = self.lookups.clone();
            let provider = p.provider.clone();
            let token = p.row.access_token.clone();
            let permits = permits.clone();
            asked.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let seen = match expiry {
                    true => Some(lookups.introspect(provider.as_ref(), &token, now).await),
                    false => None,
                };
                let holder = match member && !matches!(seen, Some(Err(_))) {
                    true => Some(lookups.holder(provider.as_ref(), &token).await),
                    false => None,
                };
                (index, seen, holder)
            });
        }
        let mut stop = None;
        while let Some(joined) = asked.join_next().await {
            let (index, seen, holder) =
                joined.map_err(|e| format!("a lookup at a provider failed: {e}"))?;
            let p = &mut pending[index];
            let provider = p.provider.as_ref();
            let network = provider.display_name();
            let member_unknown = p.row.member_id.is_none();
            // A provider without the endpoint asked is this row's problem, not a
            // misconfiguration that stops the import: the other rows go on.
            let lacking = match (&seen, &holder) {
                (Some(Err(error)), _) => error
                    .not_offered()
                    .map(|what| (Lookup::Introspection, what)),
                (_, Some(Err(error))) => error
                    .not_offered()
                    .map(|what| (Lookup::Userinfo { member_unknown }, what)),
                _ => None,
            };
            let problem = match (seen, holder) {
                _ if lacking.is_some() => {
                    lacking.map(|(asked, what)| not_offered(asked, provider, what))
                }
                (Some(Err(error)), _) if error.class() == FailureClass::Misconfiguration => {
                    stop.get_or_insert(format!(
                        "{network} refused our client at introspection (check {}): {error}",
                        settings_of(provider, "linkedin.client_id, client_secret and introspect_url")
                    ));
                    None
                }
                (Some(Err(error)), _) => Some(format!(
                    "{network} could not tell about the access token: {error}"
                )),
                (_, Some(Err(error))) if error.class() == FailureClass::Misconfiguration => {
                    stop.get_or_insert(format!(
                        "{network} refused our userinfo request (check {}): {error}",
                        settings_of(provider, "linkedin.userinfo_url")
                    ));
                    None
                }
                (_, Some(Err(error))) if member_unknown => Some(format!(
                    "member_id: not given, and {network} could not tell whose the access token is: {error}"
                )),
                (_, Some(Err(error))) => Some(format!(
                    "token_expires_at: not given, and {network} could not tell whether it still takes the access token: {error}"
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

/// A user's account at a provider, hashed: the key of `first_lines`.
fn account_hash(provider: &ProviderName, user: &UserId) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    provider.hash(&mut hasher);
    user.hash(&mut hasher);
    hasher.finish()
}
