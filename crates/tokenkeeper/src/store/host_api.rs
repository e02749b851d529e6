//! What the host app's API needs from storage beyond reading one account: listing without
//! tokens, forgetting an account, claiming one account for a refresh on demand, and the
//! forecast of the days ahead.

use super::{Lease, StoreError};
use crate::domain::EnumText;
use crate::domain::{Account, AccountMember, AccountStatus, ProviderName, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use strum::{IntoStaticStr, VariantArray};

/// Which accounts a list shows: after `after_id` in id order, at most `limit`.
#[derive(Debug, Clone)]
pub struct AccountFilter {
    /// Only accounts with this provider; every provider when `None`.
    pub provider: Option<ProviderName>,
    pub status: Option<AccountStatus>,
    /// Only accounts whose next refresh (`expiration`) comes before this moment.
    pub due_before: Option<DateTime<Utc>>,
    pub after_id: i64,
    pub limit: i64,
}

/// An account as a list shows it. It has no token field at all, so no list can leak one.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: i64,
    pub user_id: UserId,
    pub provider: ProviderName,
    pub member_id: AccountMember,
    pub email: String,
    pub status: AccountStatus,
    pub token_expires_at: DateTime<Utc>,
    pub has_refresh_token: bool,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub expiration: DateTime<Utc>,
    pub linked_at: DateTime<Utc>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
}

/// The answer to claiming one account.
#[derive(Debug)]
pub enum OneClaim {
    /// Claimed: the account at its claimed version, which the write-back must present.
    Claimed(Box<Account>),
    /// Another process (a sweep, or another refresh on demand) holds a live claim.
    Held,
    Unknown,
}

/// What was forgotten.
#[derive(Debug, Clone)]
pub struct DeletedAccount {
    pub account_id: i64,
    pub user_id: UserId,
    pub member_id: String,
    /// Emails that were waiting and will not be sent.
    pub cancelled_emails: u64,
}

/// Why a member will have to act, or that only a refresh is coming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum ForecastKind {
    /// A refresh with a live refresh token: nothing for the member to do.
    Refresh,
    /// Due with no refresh token (no partner access): the member is asked to reconnect.
    NoRefreshToken,
    /// Due when the refresh token reaches its fixed end of life: the member must reconnect.
    RefreshTokenEnding,
    /// Already asked to reconnect; counted on the day its access token dies.
    NeedsReconnect,
}

impl EnumText for ForecastKind {
    const WHAT: &'static str = "forecast kind";
}

impl ForecastKind {
    pub const ALL: [ForecastKind; 4] = [
        ForecastKind::Refresh,
        ForecastKind::NoRefreshToken,
        ForecastKind::RefreshTokenEnding,
        ForecastKind::NeedsReconnect,
    ];
}

/// Accounts of one kind on one day: `day` counts whole days of 24 hours from the forecast's
/// start; anything already overdue is on day 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastCount {
    pub day: i64,
    pub kind: ForecastKind,
    pub accounts: i64,
}

#[async_trait]
pub trait HostApiStore: Send + Sync {
    /// Accounts matching the filter, in id order.
    async fn list_account_summaries(
        &self,
        filter: &AccountFilter,
    ) -> Result<Vec<AccountSummary>, StoreError>;

    /// Claims the user's account under `lease` whatever its status, unless another process
    /// holds a live claim on it. Claiming bumps `version`, as a sweep's claim does.
    async fn claim_one(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        lease: &Lease,
    ) -> Result<OneClaim, StoreError>;

    /// Forgets the user's account: its tokens (the row), and its emails not yet sent, in one
    /// transaction, with its `account.deleted` event (at `at`) while webhooks are on. A
    /// refresh in flight then finds no row at its version and is discarded.
    async fn delete_account(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<DeletedAccount>, StoreError>;

    /// Counts by day and kind for the `days` days of 24 hours starting at `from`: refreshable
    /// accounts by `expiration`, accounts waiting for their member by `token_expires_at`; the
    /// accounts of `provider` only, when one is named.
    async fn forecast(
        &self,
        from: DateTime<Utc>,
        days: i64,
        provider: Option<&ProviderName>,
    ) -> Result<Vec<ForecastCount>, StoreError>;
}
