//! Pure rules of the product: identities, accounts and their states, token sets and the
//! expiry policy. Nothing here does I/O; every other module calls in, this one calls none.

mod account;
mod clock;
mod database_url;
mod dialect;
mod email;
mod enum_text;
mod expiry;
mod ids;
mod imported;
mod notification;
mod notification_policy;
mod provider_name;
mod refresh_outcome;
pub mod schedule;
mod secrets;
mod sweep_outcome;
mod webhook_event;

pub use account::{Account, AccountStatus, LinkedAccount, TokenSet};
pub use clock::{Clock, ManualClock, SystemClock};
pub use database_url::{redact_database_url, redacted_url, DatabaseUrl};
pub use dialect::Dialect;
pub use email::EmailAddress;
pub use enum_text::EnumText;
pub use expiry::{ExpiryPolicy, KeepAlive};
pub use ids::{AccountMember, MemberId, UserId};
pub use imported::{ImportDecision, ImportedAccount};
pub use notification::{NewNotification, NotificationKind, NotificationStatus};
pub use notification_policy::NotificationPolicy;
pub use provider_name::{ProviderKind, ProviderName, PROVIDER_NAME_MAX};
pub use refresh_outcome::RefreshOutcome;
pub use schedule::Schedule;
pub use secrets::{AccessToken, PkceVerifier, RefreshToken};
pub use sweep_outcome::SweepOutcome;
pub use webhook_event::{AccountEnd, WebhookEvent, WebhookEventType, WebhookEvents};

/// A value that failed validation at the edge of the system. The message says what was
/// expected; it never contains the rejected secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);
