use super::EnumText;
use chrono::{DateTime, Utc};
use strum::{Display, IntoStaticStr, VariantArray};

/// Why a member is being written to. Each kind is sent at most once per episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, VariantArray, Display)]
pub enum NotificationKind {
    /// Refresh failed for good (revoked, invalid grant): reconnect now.
    #[strum(serialize = "reconnect_required")]
    ReconnectRequired,
    /// The app has no refresh token and the account is due: reconnecting now still takes one
    /// click because the current token is valid.
    #[strum(serialize = "reconnect_due")]
    ReconnectDue,
    /// Refresh keeps failing for a passing reason and the token dies soon.
    #[strum(serialize = "refresh_failing")]
    RefreshFailing,
    /// A last reminder shortly before the access token dies, if the member has not reconnected.
    #[strum(serialize = "expiry_reminder")]
    ExpiryReminder,
    /// The refresh token's fixed 365-day life ends in 30, 7 or 1 days.
    #[strum(serialize = "refresh_token_ending_30")]
    RefreshTokenEnding30,
    #[strum(serialize = "refresh_token_ending_7")]
    RefreshTokenEnding7,
    #[strum(serialize = "refresh_token_ending_1")]
    RefreshTokenEnding1,
}

impl EnumText for NotificationKind {
    const WHAT: &'static str = "notification kind";
}

/// Where an outbox row stands. Rows are written `pending`; the worker marks them `sent` or
/// gives up on them (`failed`), and a reconnect or a recovery makes them moot (`cancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, VariantArray, Display)]
#[strum(serialize_all = "snake_case")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
    Cancelled,
}

impl EnumText for NotificationStatus {
    const WHAT: &'static str = "notification status";
}

/// A notification to write to the outbox, in the same transaction as the state change that
/// causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub account_id: i64,
    pub kind: NotificationKind,
    /// One episode per linking of the account: reconnecting starts a new one, so the same kind
    /// can be sent again for a later problem, but never twice for the same one.
    pub episode: String,
    /// Not sent before this instant (reminders are written ahead of time).
    pub send_after: DateTime<Utc>,
    /// When the connection dies if the member does nothing; shown in the email.
    pub deadline: DateTime<Utc>,
}

impl NewNotification {
    /// The episode of an account linked at `linked_at`.
    pub fn episode_of(linked_at: DateTime<Utc>) -> String {
        linked_at.timestamp_micros().to_string()
    }

    /// What makes a notification unique: one per account, episode and kind, however many
    /// processes try to write it.
    pub fn dedupe_key(&self) -> String {
        format!("{}:{}:{}", self.account_id, self.episode, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn kinds_are_stored_by_their_names() {
        let stored = NotificationKind::ALL
            .iter()
            .copied()
            .map(|k| k.to_string())
            .collect::<Vec<_>>();
        assert_eq!(
            stored,
            [
                "reconnect_required",
                "reconnect_due",
                "refresh_failing",
                "expiry_reminder",
                "refresh_token_ending_30",
                "refresh_token_ending_7",
                "refresh_token_ending_1",
            ]
        );
        for &kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(NotificationKind::parse("reminder").is_err());
    }

    #[test]
    fn statuses_are_stored_by_their_names() {
        assert_eq!(
            NotificationStatus::ALL
                .iter()
                .copied()
                .map(NotificationStatus::as_str)
                .collect::<Vec<_>>(),
            ["pending", "sent", "failed", "cancelled"]
        );
        for &status in NotificationStatus::ALL {
            assert_eq!(NotificationStatus::parse(status.as_str()), Ok(status));
        }
        assert!(NotificationStatus::parse("canceled").is_err());
    }

    #[test]
    fn the_dedupe_key_names_account_episode_and_kind() {
        let linked_at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let episode = NewNotification::episode_of(linked_at);
        assert_eq!(episode, "1767225600000000");
        let n = NewNotification {
            account_id: 7,
            kind: NotificationKind::ExpiryReminder,
            episode,
            send_after: linked_at,
            deadline: linked_at,
        };
        assert_eq!(n.dedupe_key(), "7:1767225600000000:expiry_reminder");
    }
}
