//! The webhook outbox's statements: an event written from the account's row inside the
//! transaction that changed it, claims and marks by the outbox mechanism both outboxes share, and the
//! `account.expiring` events planned ahead.

use super::outbox_table::{OutboxTable, Outcome, Receipt, TableShape};
use super::{on_each, SqlStore, Statement, Tx};
use crate::domain::EnumText;
use crate::domain::{AccountEnd, WebhookEvent, WebhookEventType};
use crate::store::exact_text::ExactText;
use crate::store::{
    DeliveryMark, DeliveryStatus, Lease, StoreError, StoredWebhookEvent, WebhookEvents,
    WebhookStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// An event from the account's row as the caller's transaction sees it, so it tells exactly
/// the state the change wrote. No token column is read. Parameters: message id, type, time,
/// status (NULL: the row's own), reason, version offset, ending, ends_at, dedupe key, the
/// first attempt's time, account id. An existing dedupe key wins (SQLite and PostgreSQL).
static RECORD: Statement = Statement::new(
    "
INSERT INTO webhook_events (message_id, event_type, occurred_at, account_id, user_id, network,
    status, reason, version, expiration, token_expires_at, refresh_token_expires_at,
    has_refresh_token, ending, ends_at, dedupe_key, delivery_status, attempts, next_attempt_at)
SELECT ?, ?, ?, id, user_id, network, COALESCE(?, status), ?, version + ?, expiration,
    token_expires_at, refresh_token_expires_at, refresh_token IS NOT NULL, ?, ?, ?, 'pending', 0, ?
FROM social_network WHERE id = ?
ON CONFLICT (dedupe_key) DO NOTHING",
);

/// MySQL's "an existing dedupe key wins", as for email notifications: the values are bounded
/// and read from a row, so IGNORE hides no other error.
const RECORD_MYSQL: &str = "
INSERT IGNORE INTO webhook_events (message_id, event_type, occurred_at, account_id, user_id,
    network, status, reason, version, expiration, token_expires_at, refresh_token_expires_at,
    has_refresh_token, ending, ends_at, dedupe_key, delivery_status, attempts, next_attempt_at)
SELECT ?, ?, ?, id, user_id, network, COALESCE(?, status), ?, version + ?, expiration,
    token_expires_at, refresh_token_expires_at, refresh_token IS NOT NULL, ?, ?, ?, 'pending', 0, ?
FROM social_network WHERE id = ?";

/// The webhook outbox. A mark writes the receiver's HTTP status of that attempt (none when it
/// did not answer).
static EVENTS_OUTBOX: OutboxTable = OutboxTable::new(TableShape {
    name: "webhook_events",
    status: "delivery_status",
    due: &["next_attempt_at"],
    claimed: &["*"],
    outcome: "delivery_status = ?, last_error = ?,
    next_attempt_at = COALESCE(?, next_attempt_at), delivered_at = ?, response_status = ?",
});

/// Accounts that will need their member before an end within `(now, until]`: refreshable
/// ones by their refresh token's end of life, the others by their access token's death.
/// Parameters: after_id, now, until, now, until, limit.
static EXPIRING: Statement = Statement::new(
    "
SELECT id, status, refresh_token IS NOT NULL AS has_refresh_token, token_expires_at,
    refresh_token_expires_at
FROM social_network
WHERE id > ? AND (
    (status IN ('active', 'refresh_failing') AND refresh_token IS NOT NULL
        AND refresh_token_expires_at > ? AND refresh_token_expires_at <= ?)
    OR ((status = 'needs_reconnect'
            OR (status IN ('active', 'refresh_failing') AND refresh_token IS NULL))
        AND token_expires_at > ? AND token_expires_at <= ?))
ORDER BY id
LIMIT ?",
);

/// Settled events only: a pending one is still owed to the receiver. Parameter: the oldest
/// time kept.
static PRUNE: Statement = Statement::new(
    "DELETE FROM webhook_events WHERE delivery_status <> 'pending' AND occurred_at < ?",
);

static EVENTS: Statement =
    Statement::new("SELECT * FROM webhook_events WHERE id > ? ORDER BY id LIMIT ?");

/// How one state change is told.
pub(super) struct EventWrite<'a> {
    pub event_type: WebhookEventType,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// Replaces the row's status: `deleted` for an account about to be removed.
    pub status: Option<&'static str>,
    /// Added to the row's version: 1 for an event written just before the change it tells.
    pub version_offset: i64,
    pub ending: Option<(AccountEnd, DateTime<Utc>)>,
}

impl<'a> EventWrite<'a> {
    pub(super) fn new(
        event_type: WebhookEventType,
        reason: Option<&'a str>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_type,
            reason,
            at,
            status: None,
            version_offset: 0,
            ending: None,
        }
    }
}

impl SqlStore {
    /// Writes one event about account `account_id` inside the caller's transaction, while
    /// webhooks are on. Returns how many rows were written (0 for a dedupe key already there).
    pub(super) async fn record_event(
        &self,
        tx: &mut Tx,
        account_id: i64,
        event: &EventWrite<'_>,
    ) -> Result<u64, StoreError> {
        if self.webhooks == WebhookEvents::Off {
            return Ok(0);
        }
        let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let (ending, ends_at) = event.ending.unzip();
        let dedupe_key = event
            .ending
            .map(|(end, at)| format!("expiring:{account_id}:{}:{}", end.as_str(), at.timestamp()));
        let written = on_each!(Tx, &mut *tx, |tx, dialect| {
            let sql = match dialect {
                super::Dialect::MySql => RECORD_MYSQL,
                _ => RECORD.sql(dialect),
            };
            sqlx::query(sql)
                .bind(message_id.as_str())
                .bind(event.event_type)
                .bind(event.at)
                .bind(event.status)
                .bind(event.reason)
                .bind(event.version_offset)
                .bind(ending)
                .bind(ends_at)
                .bind(dedupe_key.as_deref())
                .bind(event.at)
                .bind(account_id)
                .execute(&mut **tx)
                .await?
                .rows_affected()
        });
        Ok(written)
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    message_id: ExactText,
    event_type: String,
    occurred_at: DateTime<Utc>,
    account_id: i64,
    user_id: ExactText,
    network: String,
    status: String,
    reason: Option<String>,
    version: i64,
    expiration: DateTime<Utc>,
    token_expires_at: DateTime<Utc>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    has_refresh_token: bool,
    ending: Option<String>,
    ends_at: Option<DateTime<Utc>>,
    attempts: i32,
    delivery_status: DeliveryStatus,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    response_status: Option<i32>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<EventRow> for StoredWebhookEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "webhook_events",
            id: row.id,
            reason,
        };
        let event_type = WebhookEventType::parse(&row.event_type).map_err(|e| corrupt(e.0))?;
        let user_id = crate::domain::UserId::parse(&row.user_id.0).map_err(|e| corrupt(e.0))?;
        let ending = match (&row.ending, row.ends_at) {
            (Some(end), Some(at)) => Some((AccountEnd::parse(end).map_err(|e| corrupt(e.0))?, at)),
            _ => None,
        };
        Ok(StoredWebhookEvent {
            event: WebhookEvent {
                id: row.id,
                message_id: row.message_id.0,
                event_type,
                occurred_at: row.occurred_at,
                account_id: row.account_id,
                user_id,
                network: row.network,
                status: row.status,
                reason: row.reason,
                version: row.version,
                expiration: row.expiration,
                token_expires_at: row.token_expires_at,
                refresh_token_expires_at: row.refresh_token_expires_at,
                has_refresh_token: row.has_refresh_token,
                ending,
                attempts: row.attempts,
            },
            delivery_status: row.delivery_status,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            response_status: row.response_status,
            delivered_at: row.delivered_at,
        })
    }
}

/// The end an account is warned about, from its row.
type ExpiringRow = (i64, String, bool, DateTime<Utc>, Option<DateTime<Utc>>);

fn end_of(row: &ExpiringRow) -> Option<(AccountEnd, DateTime<Utc>)> {
    let (_, status, has_refresh_token, token_expires_at, refresh_token_expires_at) = row;
    if *has_refresh_token && status != "needs_reconnect" {
        refresh_token_expires_at.map(|at| (AccountEnd::RefreshToken, at))
    } else {
        Some((AccountEnd::AccessToken, *token_expires_at))
    }
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn claim_webhook_events(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let mut tx = self.begin().await?;
        let rows: Vec<EventRow> = EVENTS_OUTBOX.claim(&mut tx, lease, limit).await?;
        tx.commit().await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            // A damaged row holds back only itself: it is reported and marked failed, so that
            // it is not claimed again at every lapse of its lease, and is pruned in time.
            let id = row.id;
            match StoredWebhookEvent::try_from(row) {
                Ok(stored) => events.push(stored.event),
                Err(e) => {
                    tracing::error!(event_id = id, error = %e, "a webhook event cannot be read; marked failed");
                    let unreadable = DeliveryMark::Failed {
                        error: format!("this version cannot read the event: {e}"),
                        response_status: None,
                    };
                    self.mark_webhook_event(id, &lease.holder, &unreadable)
                        .await?;
                }
            }
        }
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    async fn mark_webhook_event(
        &self,
        id: i64,
        holder: &str,
        mark: &DeliveryMark,
    ) -> Result<bool, StoreError> {
        let outcome = match mark {
            DeliveryMark::Delivered {
                response_status,
                at,
            } => Outcome::taken(
                DeliveryStatus::Delivered.as_str(),
                *at,
                Receipt::Code(Some(*response_status)),
            ),
            DeliveryMark::Retry {
                error,
                response_status,
                next_attempt_at,
            } => Outcome::retry(error, *next_attempt_at, Receipt::Code(*response_status)),
            DeliveryMark::Failed {
                error,
                response_status,
            } => Outcome::settled(
                DeliveryStatus::Failed.as_str(),
                error,
                Receipt::Code(*response_status),
            ),
        };
        Ok(EVENTS_OUTBOX.mark(&self.pool, id, holder, &outcome).await?)
    }

    async fn record_expiring_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let WebhookEvents::On {
            expiring_within, ..
        } = self.webhooks
        else {
            return Ok(0);
        };
        let until = now + expiring_within;
        let (mut after, mut written) = (0, 0);
        loop {
            let rows: Vec<ExpiringRow> = on_each!(Pool, &self.pool, |pool, dialect| {
                sqlx::query_as(EXPIRING.sql(dialect))
                    .bind(after)
                    .bind(now)
                    .bind(until)
                    .bind(now)
                    .bind(until)
                    .bind(500_i64)
                    .fetch_all(pool)
                    .await?
            });
            let Some(last) = rows.last() else {
                return Ok(written);
            };
            after = last.0;
            let mut tx = self.begin().await?;
            for row in &rows {
                let Some(ending) = end_of(row) else { continue };
                let reason = match ending.0 {
                    AccountEnd::RefreshToken => "refresh_token_ends",
                    AccountEnd::AccessToken => "access_token_ends",
                };
                let mut event = EventWrite::new(WebhookEventType::Expiring, Some(reason), now);
                event.ending = Some(ending);
                written += self.record_event(&mut tx, row.0, &event).await?;
            }
            tx.commit().await?;
        }
    }

    async fn prune_webhook_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let WebhookEvents::On { retention, .. } = self.webhooks else {
            return Ok(0);
        };
        Ok(on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query(PRUNE.sql(dialect))
                .bind(now - retention)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    async fn webhook_events(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredWebhookEvent>, StoreError> {
        let rows: Vec<EventRow> = on_each!(Pool, &self.pool, |pool, dialect| {
            sqlx::query_as(EVENTS.sql(dialect))
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(StoredWebhookEvent::try_from).collect()
    }
}
