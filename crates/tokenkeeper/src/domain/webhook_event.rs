//! What the host app is told about its members' accounts: one event per state change, each a
//! snapshot of the account as the change left it. The event carries no token field, so no
//! event can leak one.

use super::{InvalidInput, UserId};
use chrono::{DateTime, Utc};
use std::fmt;

/// The events a webhook receiver can get, by their names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEventType {
    /// A user's first LinkedIn account (through the connect flow, or an import).
    Linked,
    /// A user with an account connected again: new tokens, a new episode.
    Reconnected,
    Refreshed,
    /// A refresh failed for a reason that may pass; the sweep tries again.
    RefreshFailing,
    /// Only the member can fix the account now: the reconnect episode starts.
    NeedsReconnect,
    /// The access token died before the member reconnected.
    Expired,
    /// The host app deleted the account through the API.
    Deleted,
    /// An end only the member can prevent comes within `webhooks.expiring_days`.
    Expiring,
}

impl WebhookEventType {
    pub const ALL: [WebhookEventType; 8] = [
        WebhookEventType::Linked,
        WebhookEventType::Reconnected,
        WebhookEventType::Refreshed,
        WebhookEventType::RefreshFailing,
        WebhookEventType::NeedsReconnect,
        WebhookEventType::Expired,
        WebhookEventType::Deleted,
        WebhookEventType::Expiring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::Linked => "account.linked",
            WebhookEventType::Reconnected => "account.reconnected",
            WebhookEventType::Refreshed => "account.refreshed",
            WebhookEventType::RefreshFailing => "account.refresh_failing",
            WebhookEventType::NeedsReconnect => "account.needs_reconnect",
            WebhookEventType::Expired => "account.expired",
            WebhookEventType::Deleted => "account.deleted",
            WebhookEventType::Expiring => "account.expiring",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| InvalidInput(format!("unknown webhook event type {raw:?}")))
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which end an `account.expiring` event warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEnd {
    /// The refresh token's fixed end of life: after it, only a reconnect gives new tokens.
    RefreshToken,
    /// The access token's death, for an account that cannot refresh it (no refresh token, or
    /// waiting for its member).
    AccessToken,
}

impl AccountEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountEnd::RefreshToken => "refresh_token",
            AccountEnd::AccessToken => "access_token",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        [AccountEnd::RefreshToken, AccountEnd::AccessToken]
            .into_iter()
            .find(|e| e.as_str() == raw)
            .ok_or_else(|| InvalidInput(format!("unknown account end {raw:?}")))
    }
}

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
            WebhookEventType::ALL.map(WebhookEventType::as_str),
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
        for event_type in WebhookEventType::ALL {
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
