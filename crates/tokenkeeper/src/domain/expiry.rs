use chrono::{DateTime, Duration, Utc};

/// When an account's next refresh is due.
///
/// LinkedIn access tokens live about 60 days. We refresh well before that (50 days by default)
/// so a failing refresh still leaves days to retry and to warn the member while the current
/// token works, which is also when reconnecting takes a single click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// How long after linking or refreshing the next refresh is due.
    pub refresh_after: Duration,
    /// How long before the token kept alive dies the refresh must happen at the latest.
    pub safety_margin: Duration,
    /// Which token the scheduled refresh keeps alive.
    pub keeps_alive: KeepAlive,
}

/// Which token a scheduled refresh is for, and so what bounds the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepAlive {
    /// The access token: due a margin before it expires. Right for long-lived access tokens
    /// (LinkedIn's 60 days), where a due refresh is one call every few weeks.
    #[default]
    AccessToken,
    /// The refresh token only. Access tokens of an hour or two (X, Google, TikTok) are renewed
    /// when they are read; refreshing each on schedule would refresh every idle account every
    /// hour. The scheduled refresh only keeps the grant from dying unused: due a margin before
    /// `idle_life` has passed since this refresh (Google's six months, X's), or before the
    /// refresh token's stated end (TikTok's chain), whichever comes first.
    RefreshToken {
        /// A refresh token unused this long dies; `None` when only its stated end counts.
        idle_life: Option<Duration>,
    },
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        Self {
            refresh_after: Duration::days(50),
            safety_margin: Duration::days(3),
            keeps_alive: KeepAlive::AccessToken,
        }
    }
}

impl ExpiryPolicy {
    /// `now + refresh_after`, but never later than the access token's expiry minus the safety
    /// margin, nor later than the refresh token's expiry (a refresh never extends the refresh
    /// token's fixed 365-day life, so it bounds everything after it). Never earlier than `now`.
    /// When only the refresh token is kept alive ([`KeepAlive::RefreshToken`]), the access
    /// token's expiry bounds nothing; the refresh token's idle life and end do.
    pub fn next_refresh_due(
        &self,
        now: DateTime<Utc>,
        token_expires_at: DateTime<Utc>,
        refresh_token_expires_at: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let idle_life = match self.keeps_alive {
            KeepAlive::AccessToken => {
                return self.access_token_due(now, token_expires_at, refresh_token_expires_at)
            }
            KeepAlive::RefreshToken { idle_life } => idle_life,
        };
        let mut due = now + self.refresh_after;
        if let Some(life) = idle_life {
            due = due.min(now + life - self.safety_margin);
        }
        match refresh_token_expires_at {
            // Inside the margin of a fixed end (TikTok's chain), a refresh would renew nothing
            // that lasts: the next event is the end itself, when only reconnecting helps.
            Some(end) if end - self.safety_margin <= now => end.max(now),
            Some(end) => due.min(end - self.safety_margin).max(now),
            None => due.max(now),
        }
    }

    fn access_token_due(
        &self,
        now: DateTime<Utc>,
        token_expires_at: DateTime<Utc>,
        refresh_token_expires_at: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let due = (now + self.refresh_after).min(token_expires_at - self.safety_margin);
        let due = match refresh_token_expires_at {
            // Once the access token lives to (nearly) the refresh token's end, refreshing again
            // gains nothing: LinkedIn caps every new token at that end. The next event is the
            // end itself, when only reconnecting helps (the member is reminded before it).
            Some(horizon) if horizon - token_expires_at < self.safety_margin => horizon,
            Some(horizon) => due.min(horizon),
            None => due,
        };
        due.max(now)
    }
}

impl ExpiryPolicy {
    /// The same policy for tokens the network renews only inside [issued + `min_age`, expiry)
    /// (Instagram and Threads: 24 hours), and that the sweeps, twice a day, must catch at
    /// least `min_margin` before they end. The next refresh then falls due no sooner than
    /// `min_age` after the last one (a sooner call would be refused), and no later than
    /// `min_margin` before the token's end, whatever the operator configured.
    ///
    /// A token with less than `min_age + min_margin` to live cannot fall due inside its
    /// window; its refresh falls due early, as any other's, and the provider answers "too
    /// early" until the window opens.
    pub fn within_renewal_window(self, min_age: Duration, min_margin: Duration) -> Self {
        Self {
            refresh_after: self.refresh_after.max(min_age),
            safety_margin: self.safety_margin.max(min_margin),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 10, 9, 30, 0).unwrap()
    }

    #[test]
    fn fifty_days_after_linking_by_default() {
        let policy = ExpiryPolicy::default();
        let due = policy.next_refresh_due(t0(), t0() + Duration::days(60), None);
        assert_eq!(due, t0() + Duration::days(50));
    }

    #[test]
    fn capped_by_a_short_access_token_minus_margin() {
        let policy = ExpiryPolicy::default();
        let due = policy.next_refresh_due(t0(), t0() + Duration::days(20), None);
        assert_eq!(due, t0() + Duration::days(17));
    }

    #[test]
    fn capped_by_the_refresh_token_horizon() {
        let policy = ExpiryPolicy::default();
        let horizon = t0() + Duration::days(30);
        let due = policy.next_refresh_due(t0(), t0() + Duration::days(60), Some(horizon));
        assert_eq!(due, horizon);
    }

    #[test]
    fn at_the_end_of_the_refresh_tokens_life_the_end_is_due() {
        let policy = ExpiryPolicy::default();
        let horizon = t0() + Duration::days(15);
        // LinkedIn capped the new access token at the refresh token's end.
        let due = policy.next_refresh_due(t0(), horizon, Some(horizon));
        assert_eq!(due, horizon);
    }

    #[test]
    fn non_partner_accounts_are_due_at_day_fifty_like_the_others() {
        // No refresh token: `expiration` is when the member must be asked to reconnect.
        let policy = ExpiryPolicy::default();
        assert_eq!(
            policy.next_refresh_due(t0(), t0() + Duration::seconds(5_183_999), None),
            t0() + Duration::days(50)
        );
    }

    #[test]
    fn never_in_the_past_even_for_an_almost_dead_token() {
        let policy = ExpiryPolicy::default();
        let due = policy.next_refresh_due(t0(), t0() + Duration::hours(1), None);
        assert_eq!(due, t0());
    }

    #[test]
    fn configurable_refresh_after() {
        let policy = ExpiryPolicy {
            refresh_after: Duration::days(10),
            safety_margin: Duration::days(1),
            ..ExpiryPolicy::default()
        };
        let due = policy.next_refresh_due(t0(), t0() + Duration::days(60), None);
        assert_eq!(due, t0() + Duration::days(10));
    }

    #[test]
    fn a_token_ending_exactly_one_margin_before_the_horizon_is_refreshed_again() {
        // Three days (the margin) between the two ends still leave a refresh worth making.
        let policy = ExpiryPolicy::default();
        let due = policy.next_refresh_due(
            t0(),
            t0() + Duration::days(20),
            Some(t0() + Duration::days(23)),
        );
        assert_eq!(due, t0() + Duration::days(17));
    }

    fn keeping_the_refresh_token(idle_days: Option<i64>) -> ExpiryPolicy {
        ExpiryPolicy {
            keeps_alive: KeepAlive::RefreshToken {
                idle_life: idle_days.map(Duration::days),
            },
            ..ExpiryPolicy::default()
        }
    }

    #[test]
    fn a_short_lived_access_token_does_not_make_the_account_due_at_once() {
        // A 2-hour access token: refreshed when read, not every sweep.
        let policy = keeping_the_refresh_token(None);
        let due = policy.next_refresh_due(t0(), t0() + Duration::hours(2), None);
        assert_eq!(due, t0() + Duration::days(50));
        // The same token kept alive for itself is due at once.
        let due = ExpiryPolicy::default().next_refresh_due(t0(), t0() + Duration::hours(2), None);
        assert_eq!(due, t0());
    }

    #[test]
    fn a_refresh_token_that_dies_unused_is_used_a_margin_before_its_idle_life_ends() {
        // Google: six months unused. With a longer operator's interval, the idle life wins.
        let policy = ExpiryPolicy {
            refresh_after: Duration::days(365),
            ..keeping_the_refresh_token(Some(180))
        };
        let due = policy.next_refresh_due(t0(), t0() + Duration::hours(1), None);
        assert_eq!(due, t0() + Duration::days(177));
        // The operator's shorter interval still wins over it.
        let policy = keeping_the_refresh_token(Some(180));
        let due = policy.next_refresh_due(t0(), t0() + Duration::hours(1), None);
        assert_eq!(due, t0() + Duration::days(50));
    }

    #[test]
    fn a_rotating_chain_is_refreshed_before_its_end_then_due_at_the_end() {
        // TikTok: the chain ends 180 days after consent whatever the rotations.
        let policy = keeping_the_refresh_token(None);
        let end = t0() + Duration::days(20);
        let due = policy.next_refresh_due(t0(), t0() + Duration::hours(2), Some(end));
        assert_eq!(due, end - Duration::days(3));
        // Refreshed inside the margin: nothing lasting to renew, the end itself is next.
        let late = end - Duration::days(2);
        let due = policy.next_refresh_due(late, late + Duration::hours(2), Some(end));
        assert_eq!(due, end);
        // Past the end: due now, never in the past.
        let after = end + Duration::days(1);
        assert_eq!(policy.next_refresh_due(after, after, Some(end)), after);
    }

    #[test]
    fn a_renewal_window_keeps_the_next_refresh_inside_it() {
        let day = Duration::days(1);
        let sixty_days = t0() + Duration::days(60);
        // Configured too soon (an hour) and too close to the end (an hour): a day after the
        // last renewal, and three days before the end at the latest.
        let hasty = ExpiryPolicy {
            refresh_after: Duration::hours(1),
            safety_margin: Duration::hours(1),
            ..ExpiryPolicy::default()
        }
        .within_renewal_window(day, Duration::days(3));
        assert_eq!(hasty.next_refresh_due(t0(), sixty_days, None), t0() + day);
        let late = ExpiryPolicy {
            refresh_after: Duration::days(90),
            safety_margin: Duration::hours(1),
            ..ExpiryPolicy::default()
        }
        .within_renewal_window(day, Duration::days(3));
        assert_eq!(
            late.next_refresh_due(t0(), sixty_days, None),
            t0() + Duration::days(57)
        );
        // The default already falls inside: unchanged.
        let default = ExpiryPolicy::default();
        assert_eq!(
            default.within_renewal_window(day, Duration::days(3)),
            default
        );
    }
}
