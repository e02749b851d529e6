//! What an import needs from storage: reading the accounts of a batch of users at a provider,
//! and writing a batch of imported accounts in one transaction, each only where it is new or
//! newer than the user's account at the row's provider.

use super::StoreError;
use crate::domain::{
    Account, ImportDecision, ImportedAccount, NewNotification, ProviderName, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The outbox rows that start the reconnect episode of an account imported as
/// `needs_reconnect`, given the account as stored (its id is known only then).
pub type ReconnectNotices<'a> = &'a (dyn Fn(&Account) -> Vec<NewNotification> + Send + Sync);

/// Rows per statement: 16 parameters each stays far below every backend's limit.
pub const IMPORT_CHUNK: usize = 500;

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// The stored accounts of these users at `provider`, in no particular order.
    async fn accounts_of_users(
        &self,
        provider: &ProviderName,
        users: &[UserId],
    ) -> Result<Vec<Account>, StoreError>;

    /// Writes a batch (one row per user and provider) in one transaction, each account as
    /// [`ImportedAccount::decide`] says against what is stored at that moment. Returns what
    /// became of each, in the batch's order: a row another writer got to first is
    /// `NewerKept`. Accounts written as `needs_reconnect` get their `reconnect` outbox rows
    /// in the same transaction; a replaced account's pending emails are cancelled, as when its
    /// member links again. Nothing is written for `Unchanged` and `NewerKept`: no version
    /// bump, no email.
    async fn import_accounts(
        &self,
        batch: &[ImportedAccount],
        at: DateTime<Utc>,
        reconnect: ReconnectNotices<'_>,
    ) -> Result<Vec<ImportDecision>, StoreError>;
}
