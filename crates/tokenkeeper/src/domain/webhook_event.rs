//! What the host app is told about its members' accounts: one event per state change, each a
//! snapshot of the account as the change left it. The event carries no token field, so no
//! event can leak one.

use super::EnumText;
use super::UserId;
use chrono::{DateTime, Utc};
use strum::{Display, IntoStaticStr, VariantArray};

/// The events a webhook receiver can get, by their names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, VariantArray, Display)]
pub enum WebhookEventType {
    /// A user's first LinkedIn account (through the connect flow, or an import).
    #[strum(serialize = "account.linked")]
    Linked,
    /// A user with an account connected again: new tokens, a new episode.
    #[strum(serialize = "account.reconnected")]
    Reconnected,
    #[strum(serialize = "account.refreshed")]
    Refreshed,
    /// A refresh failed for a reason that may pass; the sweep tries again.
    #[strum(serialize = "account.refresh_failing")]
    RefreshFailing,
    /// Only the member can fix the account now: the reconnect episode starts.
    #[strum(serialize = "account.needs_reconnect")]
    NeedsReconnect,
    /// The access token died before the member reconnected.
    #[strum(serialize = "account.expired")]
    Expired,
    /// The host app deleted the account through the API.
    #[strum(serialize = "account.deleted")]
    Deleted,
    /// An end only the member can prevent comes within `webhooks.expiring_days`.
    #[strum(serialize = "account.expiring")]
    Expiring,
}

impl EnumText for WebhookEventType {
    const WHAT: &'static str = "webhook event type";
}

/// Which end an `account.expiring` event warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum AccountEnd {
    /// The refresh token's fixed end of life: after it, only a reconnect gives new tokens.
    RefreshToken,
    /// The access token's death, for an account that cannot refresh it (no refresh token, or
    /// waiting for its member).
    AccessToken,
}

impl EnumText for AccountEnd {
    const WHAT: &'static str = "account end";
}

impl AccountEnd {}

/// One stored event: what happened, when, why, and the account's state right after it.
/// `status` is the account's status, or `deleted` once it is gone.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt, so receivers can drop duplicates.
    pub message_id: String,
    pub event_type: WebhookEventType,
    pub occurred_at: DateTime<Utc>,
    pub account_id: i64,
    pub user_id: UserId,
    pub network: String,
    pub status: String,
    pub reason: Option<String>,
    /// The account's version after the change: receivers order one account's events by it.
    pub version: i64,
    pub expiration: DateTime<Utc>,
    pub token_expires_at: DateTime<Utc>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub has_refresh_token: bool,
    /// For `account.expiring`: which end comes, and when.
    pub ending: Option<(AccountEnd, DateTime<Utc>)>,
    /// Delivery attempts made so far.
    pub attempts: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_named_as_receivers_and_the_outbox_read_them() {
        assert_eq!(
            WebhookEventType::ALL
                .iter()
                .copied()
                .map(WebhookEventType::as_str)
                .collect::<Vec<_>>(),
            [
                "account.linked",
                "account.reconnected",
                "account.refreshed",
                "account.refresh_failing",
                "account.needs_reconnect",
                "account.expired",
                "account.deleted",
                "account.expiring",
            ]
        );
        for &event_type in WebhookEventType::ALL {
            assert_eq!(
                WebhookEventType::parse(event_type.as_str()).unwrap(),
                event_type
            );
            assert_eq!(event_type.to_string(), event_type.as_str());
        }
        assert!(WebhookEventType::parse("account.renamed").is_err());
    }

    #[test]
    fn account_ends_are_named_and_read_back() {
        for (end, name) in [
            (AccountEnd::RefreshToken, "refresh_token"),
            (AccountEnd::AccessToken, "access_token"),
        ] {
            assert_eq!(end.as_str(), name);
            assert_eq!(AccountEnd::parse(name).unwrap(), end);
        }
        assert!(AccountEnd::parse("both").is_err());
    }
}

/// Whether the store writes webhook events, and how far ahead `account.expiring` looks; the
/// `[webhooks]` section decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WebhookEvents {
    /// Webhooks are off: no event is written, so none piles up for a receiver that never comes.
    #[default]
    Off,
    On {
        expiring_within: chrono::Duration,
        /// Delivered and failed events are deleted this long after they happened.
        retention: chrono::Duration,
    },
}
