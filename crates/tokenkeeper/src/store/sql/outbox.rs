//! The outbox: claims on due notifications under an owner, and the owner's marks.

use super::outbox_table::{OutboxTable, Outcome, Receipt, TableShape};
use super::{on_each, SqlStore, Statement};
use crate::domain::EnumText;
use crate::domain::{Account, NewNotification, NotificationKind, NotificationStatus};
use crate::store::rows::{self, AccountRow};
use crate::store::{ClaimedNotification, Lease, OutboxStore, PendingEmail, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The email outbox. A row the operator sends again keeps its last send's Message-ID and
/// time until the next send writes its own.
static NOTIFICATIONS: OutboxTable = OutboxTable::new(TableShape {
    name: "notifications",
    status: "status",
    due: &["send_after", "next_attempt_at"],
    claimed: &[
        "id",
        "account_id",
        "kind",
        "dedupe_key",
        "deadline",
        "attempts",
    ],
    outcome: "status = ?, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),
    sent_at = COALESCE(?, sent_at), message_id = COALESCE(?, message_id)",
});

static REFRESH_TOKENS_ENDING: Statement = Statement::new(
    "SELECT * FROM social_network
     WHERE status IN ('active', 'refresh_failing') AND refresh_token IS NOT NULL
       AND refresh_token_expires_at > ? AND refresh_token_expires_at <= ? AND id > ?
     ORDER BY id LIMIT ?",
);

type ClaimedRow = (i64, i64, String, String, DateTime<Utc>, i32);

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_notifications(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let mut tx = self.begin().await?;
        let claimed: Vec<ClaimedRow> = NOTIFICATIONS.claim(&mut tx, lease, limit).await?;
        let mut out = Vec::with_capacity(claimed.len());
        for (id, account_id, kind, dedupe_key, deadline, attempts) in claimed {
            let row: AccountRow = on_each!(Tx, &mut tx, |tx, dialect| {
                sqlx::query_as(super::accounts::BY_ID.sql(dialect))
                    .bind(account_id)
                    .fetch_one(&mut **tx)
                    .await?
            });
            // A damaged account holds back its own email only; the claim lapses by itself.
            let Some(account) = rows::readable_accounts(vec![row], &self.tokens()).pop() else {
                continue;
            };
            // Read as text, so that one unknown kind does not fail the batch's decoding.
            out.push(match NotificationKind::parse(&kind) {
                Ok(kind) => ClaimedNotification::Email(Box::new(PendingEmail {
                    id,
                    kind,
                    dedupe_key,
                    deadline,
                    attempts,
                    account,
                })),
                Err(_) => ClaimedNotification::UnknownKind { id, account_id },
            });
        }
        tx.commit().await?;
        out.sort_by_key(ClaimedNotification::id);
        Ok(out)
    }

    async fn renew_notification_claim(&self, id: i64, lease: &Lease) -> Result<bool, StoreError> {
        Ok(NOTIFICATIONS.renew(&self.pool, id, lease).await?)
    }

    async fn mark_sent(
        &self,
        id: i64,
        holder: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sent = Outcome::taken(
            NotificationStatus::Sent.as_str(),
            at,
            Receipt::Text(Some(message_id)),
        );
        Ok(NOTIFICATIONS.mark(&self.pool, id, holder, &sent).await?)
    }

    async fn mark_retry(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let retry = Outcome::retry(error, next_attempt_at, Receipt::Text(None));
        Ok(NOTIFICATIONS.mark(&self.pool, id, holder, &retry).await?)
    }

    async fn mark_failed(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        status: NotificationStatus,
    ) -> Result<bool, StoreError> {
        let settled = Outcome::settled(status.as_str(), error, Receipt::Text(None));
        Ok(NOTIFICATIONS.mark(&self.pool, id, holder, &settled).await?)
    }

    async fn add_notifications(
        &self,
        notifications: &[NewNotification],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let added = Self::insert_notifications(&mut tx, notifications, at).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn refresh_tokens_ending(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(REFRESH_TOKENS_ENDING.sql(dialect))
                .bind(now)
                .bind(until)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows::accounts(rows, &self.tokens())
    }
}
