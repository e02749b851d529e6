//! Rows as both backends return them, and their checked conversion into domain types. A row
//! that no longer satisfies the domain rules (edited by hand, say) is reported, not trusted.

use super::exact_text::ExactText;
use super::{
    AccountSummary, RefreshLogEntry, StoreError, StoredNotification, SweepCounts, SweepRun,
};
use crate::crypto::{Plaintext, Row, SealedColumn, TokenCipher};
use crate::domain::EnumText;
use crate::domain::{
    AccessToken, Account, AccountMember, AccountStatus, EmailAddress, NotificationKind,
    NotificationStatus, ProviderName, RefreshOutcome, RefreshToken, SweepOutcome, UserId,
};
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
pub(in crate::store) struct AccountRow {
    id: i64,
    user_id: ExactText,
    network: String,
    member_id: ExactText,
    email: String,
    name: Option<String>,
    token: String,
    token_expires_at: DateTime<Utc>,
    refresh_token: Option<String>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    scope: String,
    expiration: DateTime<Utc>,
    status: String,
    linked_at: DateTime<Utc>,
    last_refreshed_at: Option<DateTime<Utc>>,
    refresh_attempts: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

/// How a store reads its token columns: the cipher, and whether a bare value is read as a
/// token (only where the configuration or the database allows it, see `crypto::Plaintext`).
#[derive(Clone, Copy)]
pub(in crate::store) struct TokenReader<'a> {
    pub cipher: &'a TokenCipher,
    pub plaintext: Plaintext,
}

impl TokenReader<'_> {
    /// The token `stored` holds for the account `id` of `user_id`; an error naming the row
    /// (never the value) when it does not open.
    pub fn read<T: SealedColumn>(
        &self,
        id: i64,
        row: Row<'_>,
        stored: &str,
    ) -> Result<T, StoreError> {
        let user_id = row.user_id;
        self.cipher
            .read(row, stored, self.plaintext)
            .map_err(|error| StoreError::SealedToken {
                id,
                user_id: user_id.to_string(),
                error,
            })
    }
}

impl AccountRow {
    /// The account, its tokens opened for the row they were sealed for. A value that does not
    /// open (plaintext where it is refused, an empty one, one sealed for another row) is an
    /// error, never a token.
    pub(super) fn open(self, tokens: &TokenReader<'_>) -> Result<Account, StoreError> {
        let row = self;
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "social_network",
            id: row.id,
            reason,
        };
        let user_id = UserId::parse(&row.user_id.0).map_err(|e| corrupt(e.0))?;
        let provider = ProviderName::parse(&row.network).map_err(|e| corrupt(e.0))?;
        let sealed_for = Row::new(&provider, &user_id);
        let token: AccessToken = tokens.read(row.id, sealed_for, &row.token)?;
        let refresh_token = match &row.refresh_token {
            Some(stored) => Some(tokens.read::<RefreshToken>(row.id, sealed_for, stored)?),
            None => None,
        };
        Ok(Account {
            id: row.id,
            user_id,
            provider,
            member_id: AccountMember::stored(&row.member_id.0).map_err(|e| corrupt(e.0))?,
            email: EmailAddress::parse(&row.email).map_err(|e| corrupt(e.0))?,
            name: row.name,
            token,
            token_expires_at: row.token_expires_at,
            refresh_token,
            refresh_token_expires_at: row.refresh_token_expires_at,
            scope: row.scope,
            expiration: row.expiration,
            status: AccountStatus::parse(&row.status).map_err(|e| corrupt(e.0))?,
            linked_at: row.linked_at,
            last_refreshed_at: row.last_refreshed_at,
            refresh_attempts: row.refresh_attempts,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

pub(super) fn accounts(
    rows: Vec<AccountRow>,
    tokens: &TokenReader<'_>,
) -> Result<Vec<Account>, StoreError> {
    rows.into_iter().map(|row| row.open(tokens)).collect()
}

/// Accounts of a batch (a dry run, the outbox): a row that fails the domain rules costs only
/// itself. It is logged (its id and what is wrong, never a token) and left out.
pub(super) fn readable_accounts(rows: Vec<AccountRow>, tokens: &TokenReader<'_>) -> Vec<Account> {
    rows.into_iter()
        .filter_map(|row| match row.open(tokens) {
            Ok(account) => Some(account),
            Err(e) => {
                tracing::error!(error = %e, "skipping a stored account that is no longer valid");
                None
            }
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct RefreshLogRow {
    account_id: i64,
    run_id: Option<i64>,
    attempted_at: DateTime<Utc>,
    duration_ms: i64,
    outcome: RefreshOutcome,
    http_status: Option<i32>,
    error_code: Option<String>,
    attempt: i32,
}

impl From<RefreshLogRow> for RefreshLogEntry {
    fn from(r: RefreshLogRow) -> Self {
        RefreshLogEntry {
            account_id: r.account_id,
            run_id: r.run_id,
            attempted_at: r.attempted_at,
            duration_ms: r.duration_ms,
            outcome: r.outcome,
            http_status: r.http_status,
            error_code: r.error_code,
            attempt: r.attempt,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct NotificationRow {
    id: i64,
    account_id: i64,
    kind: NotificationKind,
    episode: String,
    dedupe_key: String,
    status: NotificationStatus,
    send_after: DateTime<Utc>,
    deadline: DateTime<Utc>,
    attempts: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<NotificationRow> for StoredNotification {
    fn from(r: NotificationRow) -> Self {
        StoredNotification {
            id: r.id,
            account_id: r.account_id,
            kind: r.kind,
            episode: r.episode,
            dedupe_key: r.dedupe_key,
            status: r.status,
            send_after: r.send_after,
            deadline: r.deadline,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SweepRunRow {
    id: i64,
    slot: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    as_of: DateTime<Utc>,
    due: i64,
    refreshed: i64,
    failing: i64,
    needs_reconnect: i64,
    skipped: i64,
    unreadable: i64,
    outcome: SweepOutcome,
    error: Option<String>,
}

impl From<SweepRunRow> for SweepRun {
    fn from(r: SweepRunRow) -> Self {
        SweepRun {
            id: r.id,
            slot: r.slot,
            started_at: r.started_at,
            finished_at: r.finished_at,
            as_of: r.as_of,
            counts: SweepCounts {
                due: r.due,
                refreshed: r.refreshed,
                failing: r.failing,
                needs_reconnect: r.needs_reconnect,
                skipped: r.skipped,
                unreadable: r.unreadable,
            },
            outcome: r.outcome,
            error: r.error,
        }
    }
}

/// An account without its tokens, as lists read it.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct SummaryRow {
    id: i64,
    user_id: ExactText,
    network: String,
    member_id: ExactText,
    email: String,
    status: String,
    token_expires_at: DateTime<Utc>,
    has_refresh_token: bool,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    expiration: DateTime<Utc>,
    linked_at: DateTime<Utc>,
    last_refreshed_at: Option<DateTime<Utc>>,
}

impl TryFrom<SummaryRow> for AccountSummary {
    type Error = StoreError;

    fn try_from(row: SummaryRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "social_network",
            id: row.id,
            reason,
        };
        Ok(AccountSummary {
            id: row.id,
            user_id: UserId::parse(&row.user_id.0).map_err(|e| corrupt(e.0))?,
            provider: ProviderName::parse(&row.network).map_err(|e| corrupt(e.0))?,
            status: AccountStatus::parse(&row.status).map_err(|e| corrupt(e.0))?,
            member_id: AccountMember::stored(&row.member_id.0).map_err(|e| corrupt(e.0))?,
            email: row.email,
            token_expires_at: row.token_expires_at,
            has_refresh_token: row.has_refresh_token,
            refresh_token_expires_at: row.refresh_token_expires_at,
            expiration: row.expiration,
            linked_at: row.linked_at,
            last_refreshed_at: row.last_refreshed_at,
        })
    }
}
