//! The JSON a receiver gets: `{type, timestamp, data}` as the Standard Webhooks specification
//! lays it out. `data` is built from the stored event, which holds no token, field by field.

use crate::domain::EnumText;
use crate::domain::WebhookEvent;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

#[derive(Serialize)]
struct Payload<D: Serialize> {
    #[serde(rename = "type")]
    event_type: &'static str,
    timestamp: String,
    data: D,
}

/// Who, what state, why, the deadlines, and the version to order one account's events by.
#[derive(Serialize)]
struct AccountData<'a> {
    user_id: &'a str,
    /// The configured provider the account belongs to (`linkedin`, `x`).
    provider: &'a str,
    /// The same value, under the name events had before there were other providers.
    network: &'a str,
    status: &'a str,
    reason: Option<&'a str>,
    version: i64,
    /// When tokenkeeper next refreshes the account.
    expiration: String,
    token_expires_at: String,
    refresh_token_expires_at: Option<String>,
    has_refresh_token: bool,
    /// `account.expiring` only: `refresh_token` or `access_token`, and when it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    ending: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The body sent for a stored event.
pub fn event_body(event: &WebhookEvent) -> Vec<u8> {
    let payload = Payload {
        event_type: event.event_type.as_str(),
        timestamp: time(event.occurred_at),
        data: AccountData {
            user_id: event.user_id.as_str(),
            provider: &event.network,
            network: &event.network,
            status: &event.status,
            reason: event.reason.as_deref(),
            version: event.version,
            expiration: time(event.expiration),
            token_expires_at: time(event.token_expires_at),
            refresh_token_expires_at: event.refresh_token_expires_at.map(time),
            has_refresh_token: event.has_refresh_token,
            ending: event.ending.map(|(end, _)| end.as_str()),
            ends_at: event.ending.map(|(_, at)| time(at)),
        },
    };
    serde_json::to_vec(&payload).expect("a payload serializes")
}

#[derive(Serialize)]
struct PingData {
    message: &'static str,
}

/// The body of `tokenkeeper webhooks test`.
pub fn ping_body(at: DateTime<Utc>) -> Vec<u8> {
    let payload = Payload {
        event_type: "webhook.test",
        timestamp: time(at),
        data: PingData {
            message: "a test event from tokenkeeper: if its signature verifies, events will too",
        },
    };
    serde_json::to_vec(&payload).expect("a payload serializes")
}
