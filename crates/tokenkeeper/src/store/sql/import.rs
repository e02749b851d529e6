//! Imports: many rows per statement (a million rows must go in within a minute), decisions
//! taken in Rust against the rows read in the same transaction, so that tokens are compared
//! as tokens whatever form they are stored in.

use super::webhooks::EventWrite;
use super::{on_each, SqlStore, Statement, Tx};
use crate::crypto::{Row, TokenCipher};
use crate::domain::EnumText;
use crate::domain::{
    Account, ImportDecision, ImportedAccount, ProviderName, UserId, WebhookEventType,
};
use crate::store::import::{ImportStore, ReconnectNotices, IMPORT_CHUNK};
use crate::store::rows::{self, AccountRow, TokenReader};
use crate::store::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

const INSERT_HEAD: &str = "INSERT INTO social_network (user_id, network, member_id, email, name,
    token, token_expires_at, refresh_token, refresh_token_expires_at, scope, expiration, status,
    linked_at, last_error, refresh_attempts, created_at, updated_at, version) ";

/// Replaces an account's tokens and state under the version it was read at. A row that could
/// not tell its member (stored empty) leaves the stored one as it is.
static REPLACE: Statement = Statement::new(
    "
UPDATE social_network SET member_id = COALESCE(NULLIF(?, ''), member_id), email = ?, name = ?, token = ?, token_expires_at = ?,
    refresh_token = ?, refresh_token_expires_at = ?, scope = ?, expiration = ?, status = ?,
    linked_at = ?, last_error = ?, last_refreshed_at = NULL, refresh_attempts = 0,
    claimed_until = NULL, claimed_by = NULL, updated_at = ?, version = version + 1
WHERE id = ? AND version = ?",
);

static CANCEL_PENDING_NOTIFICATIONS: Statement = Statement::new(
    "UPDATE notifications SET status = 'cancelled' WHERE account_id = ? AND status = 'pending'",
);

/// The stored form of an account's tokens: sealed for its row, as every other write seals
/// them. Every token an import writes passes through here.
struct StoredTokens {
    token: String,
    refresh_token: Option<String>,
}

fn stored_tokens(cipher: &TokenCipher, account: &ImportedAccount) -> StoredTokens {
    let (row, tokens) = (
        Row::new(&account.provider, &account.user_id),
        &account.tokens,
    );
    StoredTokens {
        token: cipher.seal(row, &tokens.access_token),
        refresh_token: tokens
            .refresh_token
            .as_ref()
            .map(|refresh| cipher.seal(row, refresh)),
    }
}

/// An account's natural key, `(network, user_id)`, as the batch's maps hold it.
type AccountKey = (ProviderName, String);

fn key_of(provider: &ProviderName, user: &UserId) -> AccountKey {
    (provider.clone(), user.as_str().to_owned())
}

fn keyed(accounts: Vec<Account>) -> HashMap<AccountKey, Account> {
    accounts
        .into_iter()
        .map(|a| (key_of(&a.provider, &a.user_id), a))
        .collect()
}

/// The users of `accounts`, by provider: each provider's are read with one query per chunk,
/// which the unique `(user_id, network)` index answers.
fn users_by_provider<'a>(
    accounts: impl Iterator<Item = &'a ImportedAccount>,
) -> BTreeMap<&'a ProviderName, Vec<&'a UserId>> {
    let mut grouped: BTreeMap<&ProviderName, Vec<&UserId>> = BTreeMap::new();
    for account in accounts {
        grouped
            .entry(&account.provider)
            .or_default()
            .push(&account.user_id);
    }
    grouped
}

/// How an imported account is told: linked when new, reconnected when its tokens replaced
/// older ones, or needing its member when the token came in dead.
fn import_event<'a>(
    row: &'a Account,
    decision: &ImportDecision,
    at: DateTime<Utc>,
) -> EventWrite<'a> {
    if row.status == crate::domain::AccountStatus::NeedsReconnect {
        let reason = row.last_error.as_deref().unwrap_or("imported");
        return EventWrite::new(WebhookEventType::NeedsReconnect, Some(reason), at);
    }
    let event_type = match decision {
        ImportDecision::Create => WebhookEventType::Linked,
        _ => WebhookEventType::Reconnected,
    };
    EventWrite::new(event_type, Some("imported"), at)
}

impl SqlStore {
    /// The stored accounts of `users`' (provider, user) pairs, read in the transaction.
    async fn accounts_in(
        tokens: &TokenReader<'_>,
        tx: &mut Tx,
        users: &BTreeMap<&ProviderName, Vec<&UserId>>,
    ) -> Result<HashMap<AccountKey, Account>, StoreError> {
        let mut found: Vec<AccountRow> = Vec::new();
        for (provider, users) in users {
            for chunk in users.chunks(IMPORT_CHUNK) {
                let rows: Vec<AccountRow> = on_each!(Tx, &mut *tx, |tx, dialect| {
                    let mut query =
                        sqlx::QueryBuilder::new("SELECT * FROM social_network WHERE network = ");
                    query.push_bind(provider.as_str()).push(" AND user_id IN (");
                    let mut list = query.separated(", ");
                    for user in chunk {
                        list.push_bind(user.as_str());
                    }
                    query.push(")");
                    query.build_query_as().fetch_all(&mut **tx).await?
                });
                found.extend(rows);
            }
        }
        Ok(keyed(rows::accounts(found, tokens)?))
    }

    /// Inserts new accounts; a user some other writer inserted meanwhile is skipped, and the
    /// caller learns it by reading the rows back.
    async fn insert_imported(
        cipher: &TokenCipher,
        tx: &mut Tx,
        accounts: &[&ImportedAccount],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for chunk in accounts.chunks(IMPORT_CHUNK) {
            on_each!(Tx, &mut *tx, |tx, dialect| {
                let mut query = sqlx::QueryBuilder::new(INSERT_HEAD);
                query.push_values(chunk, |mut row, a| {
                    let tokens = stored_tokens(cipher, a);
                    row.push_bind(a.user_id.as_str())
                        .push_bind(a.provider.as_str())
                        .push_bind(a.member_id.as_str())
                        .push_bind(a.email.as_str())
                        .push_bind(a.name.as_deref())
                        .push_bind(tokens.token)
                        .push_bind(a.tokens.token_expires_at)
                        .push_bind(tokens.refresh_token)
                        .push_bind(a.tokens.refresh_token_expires_at)
                        .push_bind(a.tokens.scope.as_str())
                        .push_bind(a.expiration)
                        .push_bind(a.status.as_str())
                        .push_bind(a.linked_at)
                        .push_bind(a.last_error.as_deref())
                        .push("0")
                        .push_bind(at)
                        .push_bind(at)
                        .push("1");
                });
                query.push(match dialect {
                    super::Dialect::MySql => " ON DUPLICATE KEY UPDATE id = id",
                    _ => " ON CONFLICT (user_id, network) DO NOTHING",
                });
                query.build().execute(&mut **tx).await?;
            });
        }
        Ok(())
    }

    /// `false` when the account changed since it was read: then nothing was written.
    async fn replace_imported(
        cipher: &TokenCipher,
        tx: &mut Tx,
        account: &ImportedAccount,
        id: i64,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tokens = stored_tokens(cipher, account);
        let replaced = on_each!(Tx, &mut *tx, |tx, dialect| {
            sqlx::query(REPLACE.sql(dialect))
                .bind(account.member_id.as_str())
                .bind(account.email.as_str())
                .bind(account.name.as_deref())
                .bind(tokens.token)
                .bind(account.tokens.token_expires_at)
                .bind(tokens.refresh_token)
                .bind(account.tokens.refresh_token_expires_at)
                .bind(account.tokens.scope.as_str())
                .bind(account.expiration)
                .bind(account.status.as_str())
                .bind(account.linked_at)
                .bind(account.last_error.as_deref())
                .bind(at)
                .bind(id)
                .bind(version)
                .execute(&mut **tx)
                .await?
                .rows_affected()
        });
        Ok(replaced == 1)
    }
}

#[async_trait]
impl ImportStore for SqlStore {
    async fn accounts_of_users(
        &self,
        provider: &ProviderName,
        users: &[UserId],
    ) -> Result<Vec<Account>, StoreError> {
        let mut found: Vec<AccountRow> = Vec::with_capacity(users.len());
        for chunk in users.chunks(IMPORT_CHUNK) {
            let rows: Vec<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| {
                let mut query =
                    sqlx::QueryBuilder::new("SELECT * FROM social_network WHERE network = ");
                query.push_bind(provider.as_str()).push(" AND user_id IN (");
                let mut list = query.separated(", ");
                for user in chunk {
                    list.push_bind(user.as_str());
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows);
        }
        rows::accounts(found, &self.tokens())
    }

    async fn import_accounts(
        &self,
        batch: &[ImportedAccount],
        at: DateTime<Utc>,
        reconnect: ReconnectNotices<'_>,
    ) -> Result<Vec<ImportDecision>, StoreError> {
        let mut tx = self.begin().await?;
        let users = users_by_provider(batch.iter());
        let stored = Self::accounts_in(&self.tokens(), &mut tx, &users).await?;
        let mut decisions: Vec<ImportDecision> = batch
            .iter()
            .map(|a| a.decide(stored.get(&key_of(&a.provider, &a.user_id))))
            .collect();

        let creates: Vec<&ImportedAccount> = batch
            .iter()
            .zip(&decisions)
            .filter(|(_, d)| **d == ImportDecision::Create)
            .map(|(a, _)| a)
            .collect();
        Self::insert_imported(&self.cipher, &mut tx, &creates, at).await?;
        for (account, decision) in batch.iter().zip(decisions.iter_mut()) {
            if let ImportDecision::Replace { version } = *decision {
                let id = stored[&key_of(&account.provider, &account.user_id)].id;
                if !Self::replace_imported(&self.cipher, &mut tx, account, id, version, at).await? {
                    *decision = ImportDecision::NewerKept;
                }
            }
        }

        // Read back what was written: an insert that met a row written meanwhile left that
        // row alone, and the accounts written need their ids for the outbox.
        let written = users_by_provider(
            batch
                .iter()
                .zip(&decisions)
                .filter(|(_, d)| {
                    matches!(d, ImportDecision::Create | ImportDecision::Replace { .. })
                })
                .map(|(a, _)| a),
        );
        if !written.is_empty() {
            let now_stored = Self::accounts_in(&self.tokens(), &mut tx, &written).await?;
            for (account, decision) in batch.iter().zip(decisions.iter_mut()) {
                if !matches!(
                    decision,
                    ImportDecision::Create | ImportDecision::Replace { .. }
                ) {
                    continue;
                }
                let Some(row) = now_stored
                    .get(&key_of(&account.provider, &account.user_id))
                    .filter(|row| row.token == account.tokens.access_token)
                else {
                    *decision = ImportDecision::NewerKept;
                    continue;
                };
                if matches!(decision, ImportDecision::Replace { .. }) {
                    on_each!(Tx, &mut tx, |tx, dialect| {
                        sqlx::query(CANCEL_PENDING_NOTIFICATIONS.sql(dialect))
                            .bind(row.id)
                            .execute(&mut **tx)
                            .await?;
                    });
                }
                if row.status == crate::domain::AccountStatus::NeedsReconnect {
                    Self::insert_notifications(&mut tx, &reconnect(row), at).await?;
                }
                self.record_event(&mut tx, row.id, &import_event(row, decision, at))
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(decisions)
    }
}
