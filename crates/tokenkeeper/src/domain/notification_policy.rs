use super::{Account, NewNotification, NotificationKind};
use chrono::{DateTime, Duration, Utc};

/// Who is told what, and when. Every number is configurable; the defaults follow the product
/// brief: warn while reconnecting still takes one click, remind once before the token dies,
/// never email for a problem that is ours or that may pass by itself in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPolicy {
    /// Transient failures are silent unless the access token dies within this window.
    pub warning_window: Duration,
    /// The reminder goes this long before the access token dies.
    pub reminder_before: Duration,
    /// Reminders before the refresh token's fixed end of life, in days (30, 7, 1).
    pub refresh_token_reminder_days: Vec<i64>,
}

impl Default for NotificationPolicy {
    fn default() -> Self {
        Self {
            warning_window: Duration::days(3),
            reminder_before: Duration::days(3),
            refresh_token_reminder_days: vec![30, 7, 1],
        }
    }
}

impl NotificationPolicy {
    /// Refresh failed for good: one email now, one reminder before the token dies.
    pub fn on_permanent_failure(
        &self,
        account: &Account,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        self.now_and_reminder(account, now, NotificationKind::ReconnectRequired)
    }

    /// No refresh token (an app without partner access) and the account is due: one email now,
    /// while the current token still makes reconnecting a single click, one reminder before it
    /// dies.
    pub fn on_no_refresh_token(
        &self,
        account: &Account,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        self.now_and_reminder(account, now, NotificationKind::ReconnectDue)
    }

    /// A passing failure: silent, unless the access token dies within the warning window.
    pub fn on_transient_failure(
        &self,
        account: &Account,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        if account.token_expires_at - now > self.warning_window {
            return Vec::new();
        }
        vec![self.notification(account, NotificationKind::RefreshFailing, now)]
    }

    /// Reminders before the refresh token's end of life that are due at `now` and whose
    /// moment has not passed the end itself. Written by the sweep; deduplicated by the outbox.
    pub fn refresh_token_reminders(
        &self,
        account: &Account,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        let Some(end) = account.refresh_token_expires_at else {
            return Vec::new();
        };
        if end <= now {
            return Vec::new();
        }
        // Only the nearest reminder that is due: an account linked 360 days ago gets the
        // 7-day one, not the 30-day one as well.
        let mut days = self.refresh_token_reminder_days.clone();
        days.sort_unstable();
        days.into_iter()
            .find(|d| end - Duration::days(*d) <= now)
            .and_then(|d| {
                let kind = match d {
                    30 => NotificationKind::RefreshTokenEnding30,
                    7 => NotificationKind::RefreshTokenEnding7,
                    1 => NotificationKind::RefreshTokenEnding1,
                    _ => return None,
                };
                let mut n = self.notification(account, kind, now);
                n.deadline = end;
                Some(n)
            })
            .into_iter()
            .collect()
    }

    fn now_and_reminder(
        &self,
        account: &Account,
        now: DateTime<Utc>,
        kind: NotificationKind,
    ) -> Vec<NewNotification> {
        let mut out = vec![self.notification(account, kind, now)];
        let remind_at = account.token_expires_at - self.reminder_before;
        if remind_at > now {
            out.push(self.notification(account, NotificationKind::ExpiryReminder, remind_at));
        }
        out
    }

    fn notification(
        &self,
        account: &Account,
        kind: NotificationKind,
        send_after: DateTime<Utc>,
    ) -> NewNotification {
        NewNotification {
            account_id: account.id,
            kind,
            episode: NewNotification::episode_of(account.linked_at),
            send_after,
            deadline: account.token_expires_at,
        }
    }
}
