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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AccessToken, AccountStatus, EmailAddress, MemberId, ProviderName, RefreshToken, UserId,
    };
    use chrono::TimeZone;

    fn account(token_expires_at: DateTime<Utc>, refresh_end: Option<DateTime<Utc>>) -> Account {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Account {
            id: 1,
            user_id: UserId::parse("u").unwrap(),
            provider: ProviderName::linkedin(),
            member_id: MemberId::parse("m").unwrap().into(),
            email: EmailAddress::parse("u@example.com").unwrap(),
            name: None,
            token: AccessToken::new("t"),
            token_expires_at,
            refresh_token: refresh_end.map(|_| RefreshToken::new("r")),
            refresh_token_expires_at: refresh_end,
            scope: String::new(),
            expiration: at,
            status: AccountStatus::Active,
            linked_at: at,
            last_refreshed_at: None,
            refresh_attempts: 0,
            last_error: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 20, 0, 0, 0).unwrap()
    }

    #[test]
    fn permanent_failure_means_an_email_now_and_a_reminder_three_days_before() {
        let a = account(now() + Duration::days(10), None);
        let sent = NotificationPolicy::default().on_permanent_failure(&a, now());
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (sent[0].kind, sent[0].send_after),
            (NotificationKind::ReconnectRequired, now())
        );
        assert_eq!(sent[1].kind, NotificationKind::ExpiryReminder);
        assert_eq!(sent[1].send_after, now() + Duration::days(7));
        assert_ne!(sent[0].dedupe_key(), sent[1].dedupe_key());
    }

    #[test]
    fn no_reminder_when_the_deadline_is_already_that_close() {
        let a = account(now() + Duration::days(2), None);
        let sent = NotificationPolicy::default().on_no_refresh_token(&a, now());
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].kind, NotificationKind::ReconnectDue);
    }

    #[test]
    fn transient_failures_are_silent_outside_the_warning_window() {
        let policy = NotificationPolicy::default();
        assert!(policy
            .on_transient_failure(&account(now() + Duration::days(4), None), now())
            .is_empty());
        let close = policy.on_transient_failure(&account(now() + Duration::days(3), None), now());
        assert_eq!(close[0].kind, NotificationKind::RefreshFailing);
    }

    #[test]
    fn only_the_nearest_refresh_token_reminder_is_due() {
        let policy = NotificationPolicy::default();
        let kinds = |days: i64| {
            let end = now() + Duration::days(days);
            policy
                .refresh_token_reminders(&account(end, Some(end)), now())
                .into_iter()
                .map(|n| n.kind)
                .collect::<Vec<_>>()
        };
        assert!(kinds(31).is_empty());
        assert_eq!(kinds(30), [NotificationKind::RefreshTokenEnding30]);
        assert_eq!(kinds(6), [NotificationKind::RefreshTokenEnding7]);
        assert_eq!(kinds(1), [NotificationKind::RefreshTokenEnding1]);
        assert!(policy
            .refresh_token_reminders(&account(now(), None), now())
            .is_empty());
    }

    #[test]
    fn no_reminder_when_it_would_be_due_right_now() {
        let a = account(now() + Duration::days(3), None);
        let sent = NotificationPolicy::default().on_permanent_failure(&a, now());
        let kinds: Vec<_> = sent.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [NotificationKind::ReconnectRequired]);
    }

    #[test]
    fn notifications_carry_the_account_its_episode_and_deadline() {
        let deadline = now() + Duration::days(2);
        let a = account(deadline, None);
        let sent = NotificationPolicy::default().on_transient_failure(&a, now());
        assert_eq!(
            sent,
            [NewNotification {
                account_id: 1,
                kind: NotificationKind::RefreshFailing,
                episode: NewNotification::episode_of(a.linked_at),
                send_after: now(),
                deadline,
            }]
        );
    }

    #[test]
    fn no_refresh_token_reminder_once_the_refresh_token_has_ended() {
        let policy = NotificationPolicy::default();
        let ended = account(now(), Some(now()));
        assert!(policy.refresh_token_reminders(&ended, now()).is_empty());
        let end = now() + Duration::hours(12);
        let last = policy.refresh_token_reminders(&account(now(), Some(end)), now());
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].deadline, end);
    }
}
