//! The host API's statements: lists without tokens, one account claimed on demand, an
//! account forgotten, and the forecast counted by the database.

use super::webhooks::EventWrite;
use super::{on_each, Dialect, SqlStore, Statement};
use crate::domain::EnumText;
use crate::domain::{AccountStatus, ProviderName, UserId, WebhookEventType};
use crate::store::exact_text::ExactText;
use crate::store::rows::{AccountRow, SummaryRow};
use crate::store::{
    AccountFilter, AccountSummary, DeletedAccount, ForecastCount, ForecastKind, HostApiStore,
    Lease, OneClaim, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// No token column is read: a list cannot leak what it never loaded. Parameters: after_id,
/// provider twice, status twice, due_before twice, limit.
static LIST_SUMMARIES: Statement = Statement::new(
    "
SELECT id, user_id, network, member_id, email, status, token_expires_at,
    refresh_token IS NOT NULL AS has_refresh_token, refresh_token_expires_at, expiration,
    linked_at, last_refreshed_at
FROM social_network
WHERE id > ? AND (? IS NULL OR network = ?) AND (? IS NULL OR status = ?)
    AND (? IS NULL OR expiration < ?)
ORDER BY id
LIMIT ?",
);

/// A claim like a sweep's, on one account whatever its status. Parameters: the lease's end
/// and holder, user_id, provider, the lease's start (a lapsed claim is taken over).
static CLAIM_ONE: Statement = Statement::new(
    "
UPDATE social_network SET claimed_until = ?, claimed_by = ?, version = version + 1
WHERE user_id = ? AND network = ? AND (claimed_until IS NULL OR claimed_until < ?)",
);

static BY_USER: Statement =
    Statement::new("SELECT * FROM social_network WHERE user_id = ? AND network = ?");

static ID_OF_USER: Statement =
    Statement::new("SELECT id, member_id FROM social_network WHERE user_id = ? AND network = ?");

static DELETE_PENDING_EMAILS: Statement =
    Statement::new("DELETE FROM notifications WHERE account_id = ? AND status = 'pending'");

/// The rest of the account's outbox goes too: it names the member's address.
static DELETE_EMAILS: Statement = Statement::new("DELETE FROM notifications WHERE account_id = ?");

static DELETE_ACCOUNT: Statement = Statement::new("DELETE FROM social_network WHERE id = ?");

/// Counts by day and kind in one pass. `{day}` is the dialect's whole days from the start
/// (parameter 1, Unix seconds) to the account's moment, clamped at 0 so overdue accounts land
/// on the first day. Parameters: start, end twice.
const FORECAST: &str = "
SELECT day, kind, COUNT(*) AS accounts FROM (
    SELECT {day} AS day,
        CASE WHEN status = 'needs_reconnect' THEN 'needs_reconnect'
             WHEN refresh_token IS NULL THEN 'no_refresh_token'
             WHEN refresh_token_expires_at IS NOT NULL
                  AND refresh_token_expires_at <= expiration THEN 'refresh_token_ending'
             ELSE 'refresh' END AS kind
    FROM social_network
    WHERE ((status IN ('active', 'refresh_failing') AND expiration < ?)
       OR (status = 'needs_reconnect' AND token_expires_at < ?))
      AND network = COALESCE(?, network)
) ahead
GROUP BY day, kind";

/// The moment an account counts on: its next refresh, or the death of the token its member
/// has been asked to replace.
const MOMENT: &str =
    "CASE WHEN status = 'needs_reconnect' THEN token_expires_at ELSE expiration END";

fn forecast_statement(dialect: Dialect) -> &'static str {
    static STATEMENTS: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let [sqlite, postgres, mysql] = STATEMENTS.get_or_init(|| {
        // Integer division truncates towards zero; the clamp makes that harmless for the
        // past, and for the future it is the floor.
        let day = |expression: String| FORECAST.replace("{day}", &expression);
        [
            day(format!(
                "MAX(0, (CAST(strftime('%s', {MOMENT}) AS INTEGER) - ?) / 86400)"
            )),
            day(format!(
                "GREATEST(0, (FLOOR(EXTRACT(EPOCH FROM {MOMENT}))::BIGINT - $1) / 86400)"
            ))
            .replacen("expiration < ?", "expiration < $2", 1)
            .replacen("token_expires_at < ?", "token_expires_at < $3", 1)
            .replacen("COALESCE(?, network)", "COALESCE($4, network)", 1),
            // Sessions run at +00:00, so UNIX_TIMESTAMP reads the DATETIME as UTC.
            day(format!(
                "GREATEST(0, FLOOR(UNIX_TIMESTAMP({MOMENT})) - ?) DIV 86400"
            )),
        ]
    });
    match dialect {
        Dialect::Sqlite => sqlite,
        Dialect::Postgres => postgres,
        Dialect::MySql => mysql,
    }
}

impl SqlStore {
    /// Writes `account.deleted` in the delete's own transaction, from the row just before it
    /// goes: the event then exists exactly when the account is gone. It carries the version
    /// the deletion would have given the row, so it orders after every earlier event.
    async fn record_account_deleted(
        &self,
        tx: &mut super::Tx,
        account_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut event = EventWrite::new(WebhookEventType::Deleted, Some("deleted_by_host_app"), at);
        event.status = Some("deleted");
        event.version_offset = 1;
        self.record_event(tx, account_id, &event).await?;
        Ok(())
    }
}

#[async_trait]
impl HostApiStore for SqlStore {
    async fn list_account_summaries(
        &self,
        filter: &AccountFilter,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let status = filter.status.map(AccountStatus::as_str);
        let provider = filter.provider.as_ref().map(ProviderName::as_str);
        let rows: Vec<SummaryRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(LIST_SUMMARIES.sql(dialect))
                .bind(filter.after_id)
                .bind(provider)
                .bind(provider)
                .bind(status)
                .bind(status)
                .bind(filter.due_before)
                .bind(filter.due_before)
                .bind(filter.limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(AccountSummary::try_from).collect()
    }

    async fn claim_one(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        lease: &Lease,
    ) -> Result<OneClaim, StoreError> {
        let mut tx = self.begin().await?;
        let (claimed, row): (u64, Option<AccountRow>) = on_each!(Tx, &mut tx, |tx, dialect| {
            let claimed = sqlx::query(CLAIM_ONE.sql(dialect))
                .bind(lease.until)
                .bind(lease.holder.as_str())
                .bind(user_id.as_str())
                .bind(provider.as_str())
                .bind(lease.now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            let row = sqlx::query_as(BY_USER.sql(dialect))
                .bind(user_id.as_str())
                .bind(provider.as_str())
                .fetch_optional(&mut **tx)
                .await?;
            (claimed, row)
        });
        let claim = match (claimed, row) {
            (_, None) => OneClaim::Unknown,
            (0, Some(_)) => OneClaim::Held,
            (_, Some(row)) => match row.open(&self.tokens()) {
                Ok(account) => OneClaim::Claimed(Box::new(account)),
                // Not claimed after all: nothing will be done with it, and the next request
                // should hear the same error rather than find it held.
                Err(unreadable) => {
                    tx.rollback().await?;
                    return Err(unreadable);
                }
            },
        };
        tx.commit().await?;
        Ok(claim)
    }

    async fn delete_account(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<DeletedAccount>, StoreError> {
        let mut tx = self.begin().await?;
        let found: Option<(i64, ExactText)> = on_each!(Tx, &mut tx, |tx, dialect| {
            sqlx::query_as(ID_OF_USER.sql(dialect))
                .bind(user_id.as_str())
                .bind(provider.as_str())
                .fetch_optional(&mut **tx)
                .await?
        });
        let Some((account_id, ExactText(member_id))) = found else {
            tx.rollback().await?;
            return Ok(None);
        };
        self.record_account_deleted(&mut tx, account_id, at).await?;
        let cancelled_emails = on_each!(Tx, &mut tx, |tx, dialect| {
            let pending = sqlx::query(DELETE_PENDING_EMAILS.sql(dialect))
                .bind(account_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            sqlx::query(DELETE_EMAILS.sql(dialect))
                .bind(account_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query(DELETE_ACCOUNT.sql(dialect))
                .bind(account_id)
                .execute(&mut **tx)
                .await?;
            pending
        });
        let deleted = DeletedAccount {
            account_id,
            user_id: user_id.clone(),
            member_id,
            cancelled_emails,
        };
        tx.commit().await?;
        Ok(Some(deleted))
    }

    async fn forecast(
        &self,
        from: DateTime<Utc>,
        days: i64,
        provider: Option<&ProviderName>,
    ) -> Result<Vec<ForecastCount>, StoreError> {
        let end = from + chrono::Duration::days(days);
        let rows: Vec<(i64, String, i64)> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(forecast_statement(dialect))
                .bind(from.timestamp())
                .bind(end)
                .bind(end)
                .bind(provider.map(ProviderName::as_str))
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(day, kind, accounts)| {
                Some(ForecastCount {
                    day,
                    kind: ForecastKind::parse(&kind).ok()?,
                    accounts,
                })
            })
            .collect())
    }
}
