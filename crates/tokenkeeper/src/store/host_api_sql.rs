//! The host API's statements for SQLite and PostgreSQL, instantiated per backend by
//! `impl_host_api_store!`; only the forecast's day arithmetic differs.

/// No token column is read: a list cannot leak what it never loaded.
pub(super) const LIST_SUMMARIES: &str = "
SELECT id, user_id, member_id, email, status, token_expires_at,
    refresh_token IS NOT NULL AS has_refresh_token, refresh_token_expires_at, expiration,
    linked_at, last_refreshed_at
FROM social_network
WHERE id > $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR expiration < $3)
ORDER BY id
LIMIT $4";

/// A claim like a sweep's, on one account whatever its status; a lapsed claim is taken over.
pub(super) const CLAIM_ONE: &str = "
UPDATE social_network SET claimed_until = $1, claimed_by = $2, version = version + 1
WHERE user_id = $3 AND network = 'linkedin' AND (claimed_until IS NULL OR claimed_until < $4)";

pub(super) const BY_USER: &str =
    "SELECT * FROM social_network WHERE user_id = $1 AND network = 'linkedin'";

pub(super) const ID_OF_USER: &str =
    "SELECT id, member_id FROM social_network WHERE user_id = $1 AND network = 'linkedin'";

pub(super) const DELETE_PENDING_EMAILS: &str =
    "DELETE FROM notifications WHERE account_id = $1 AND status = 'pending'";

/// The rest of the account's outbox goes too: it names the member's address.
pub(super) const DELETE_EMAILS: &str = "DELETE FROM notifications WHERE account_id = $1";

pub(super) const DELETE_ACCOUNT: &str = "DELETE FROM social_network WHERE id = $1";

/// Counts by day and kind in one pass: the day is whole days from the start ($1, Unix
/// seconds) to the account's moment (its next refresh, or the death of the token its member
/// has been asked to replace), clamped at 0 so overdue accounts land on the first day.
/// Integer division truncates towards zero; the clamp makes that harmless for the past.
macro_rules! forecast_sql {
    ($day:literal) => {
        concat!(
            "SELECT day, kind, COUNT(*) AS accounts FROM (
    SELECT ",
            $day,
            " AS day,
        CASE WHEN status = 'needs_reconnect' THEN 'needs_reconnect'
             WHEN refresh_token IS NULL THEN 'no_refresh_token'
             WHEN refresh_token_expires_at IS NOT NULL
                  AND refresh_token_expires_at <= expiration THEN 'refresh_token_ending'
             ELSE 'refresh' END AS kind
    FROM social_network
    WHERE (status IN ('active', 'refresh_failing') AND expiration < $2)
       OR (status = 'needs_reconnect' AND token_expires_at < $2)
) ahead
GROUP BY day, kind"
        )
    };
}

pub(super) const FORECAST_SQLITE: &str = forecast_sql!(
    "MAX(0, (CAST(strftime('%s', CASE WHEN status = 'needs_reconnect' THEN token_expires_at ELSE expiration END) AS INTEGER) - $1) / 86400)"
);

pub(super) const FORECAST_POSTGRES: &str = forecast_sql!(
    "GREATEST(0, (FLOOR(EXTRACT(EPOCH FROM CASE WHEN status = 'needs_reconnect' THEN token_expires_at ELSE expiration END))::BIGINT - $1) / 86400)"
);

macro_rules! impl_host_api_store {
    ($store:ty, $db:ty, $forecast_sql:expr) => {
        impl $store {
            /// Where the `account.deleted` event is written, in the delete's own transaction,
            /// once events have an outbox: the event then exists exactly when the account is
            /// gone.
            async fn record_account_deleted(
                _tx: &mut sqlx::Transaction<'_, $db>,
                _deleted: &$crate::store::DeletedAccount,
            ) -> Result<(), $crate::store::StoreError> {
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::HostApiStore for $store {
            async fn list_account_summaries(
                &self,
                filter: &$crate::store::AccountFilter,
            ) -> Result<Vec<$crate::store::AccountSummary>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::rows::SummaryRow> =
                    sqlx::query_as($crate::store::host_api_sql::LIST_SUMMARIES)
                        .bind(filter.after_id)
                        .bind(filter.status.map($crate::domain::AccountStatus::as_str))
                        .bind(filter.due_before)
                        .bind(filter.limit)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map($crate::store::AccountSummary::try_from)
                    .collect()
            }

            async fn claim_one(
                &self,
                user_id: &$crate::domain::UserId,
                lease: &$crate::store::Lease,
            ) -> Result<$crate::store::OneClaim, $crate::store::StoreError> {
                use $crate::store::host_api_sql::*;
                let mut tx = self.pool.begin().await?;
                let claimed = sqlx::query(CLAIM_ONE)
                    .bind(lease.until)
                    .bind(lease.holder.as_str())
                    .bind(user_id.as_str())
                    .bind(lease.now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let row: Option<$crate::store::rows::AccountRow> = sqlx::query_as(BY_USER)
                    .bind(user_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(match (claimed, row) {
                    (_, None) => $crate::store::OneClaim::Unknown,
                    (0, Some(_)) => $crate::store::OneClaim::Held,
                    (_, Some(row)) => $crate::store::OneClaim::Claimed(Box::new(
                        $crate::domain::Account::try_from(row)?,
                    )),
                })
            }

            async fn delete_account(
                &self,
                user_id: &$crate::domain::UserId,
            ) -> Result<Option<$crate::store::DeletedAccount>, $crate::store::StoreError> {
                use $crate::store::host_api_sql::*;
                let mut tx = self.pool.begin().await?;
                let found: Option<(i64, String)> = sqlx::query_as(ID_OF_USER)
                    .bind(user_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((account_id, member_id)) = found else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let cancelled_emails = sqlx::query(DELETE_PENDING_EMAILS)
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(DELETE_EMAILS)
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(DELETE_ACCOUNT)
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                let deleted = $crate::store::DeletedAccount {
                    account_id,
                    user_id: user_id.clone(),
                    member_id,
                    cancelled_emails,
                };
                Self::record_account_deleted(&mut tx, &deleted).await?;
                tx.commit().await?;
                Ok(Some(deleted))
            }

            async fn forecast(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                days: i64,
            ) -> Result<Vec<$crate::store::ForecastCount>, $crate::store::StoreError> {
                let end = from + chrono::Duration::days(days);
                let rows: Vec<(i64, String, i64)> = sqlx::query_as($forecast_sql)
                    .bind(from.timestamp())
                    .bind(end)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(day, kind, accounts)| {
                        Some($crate::store::ForecastCount {
                            day,
                            kind: $crate::store::ForecastKind::parse(&kind)?,
                            accounts,
                        })
                    })
                    .collect())
            }
        }
    };
}
pub(super) use impl_host_api_store;
