//! How much of an outbox one worker claims at a time, and for how long.
//!
//! A claim must outlive the work it covers, or a second worker takes the rows over and sends
//! them again: with 50 rows and a 30-second time-out per send (an SMTP conversation, a
//! webhook's POST), one batch can take 25 minutes. So the batch is sized so that its worst
//! case (every send using its whole time-out) stays near `TARGET_CLAIM`, and the claim lasts
//! that worst case. Each row's claim is renewed just before it is sent, for one send's worst
//! case; that renewal is also the last check that the row is still ours and still wanted.

use chrono::Duration;

/// The most rows one claim takes.
const MAX_BATCH: i64 = 50;
/// How long a batch's claim should last at most: a crashed worker's rows wait about this
/// long before another worker sends them.
const TARGET_CLAIM_SECONDS: i64 = 600;
/// Per send, on top of the conversation itself: rendering, the database writes, and clocks
/// of different instances that disagree by a few seconds.
const MESSAGE_ALLOWANCE_SECONDS: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPlan {
    /// Rows per claim.
    pub batch: i64,
    /// How long the claim on a whole batch lasts.
    pub batch_lease: Duration,
    /// How long a row's claim is renewed for, just before it is sent.
    pub message_lease: Duration,
}

impl ClaimPlan {
    /// The plan for a send's time-out (which bounds one send's whole conversation).
    pub fn for_timeout(send_timeout: std::time::Duration) -> Self {
        let timeout = Duration::from_std(send_timeout).unwrap_or(Duration::days(1));
        // Rounded up to whole seconds: a claim never ends before the time-out does.
        let message_seconds = timeout.num_seconds()
            + i64::from(timeout.subsec_nanos() > 0)
            + MESSAGE_ALLOWANCE_SECONDS;
        let batch = (TARGET_CLAIM_SECONDS / message_seconds).clamp(1, MAX_BATCH);
        ClaimPlan {
            batch,
            batch_lease: Duration::seconds(batch * message_seconds + MESSAGE_ALLOWANCE_SECONDS),
            message_lease: Duration::seconds(message_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    #[test]
    fn a_claim_outlives_its_batch_at_the_worst() {
        for seconds in [0, 1, 5, 30, 59, 120, 600] {
            let plan = ClaimPlan::for_timeout(Std::from_secs(seconds));
            let worst = Duration::seconds(plan.batch * seconds as i64);
            assert!(plan.batch >= 1 && plan.batch <= MAX_BATCH);
            assert!(plan.batch_lease > worst, "{seconds}s: {plan:?}");
            assert!(plan.message_lease > Duration::seconds(seconds as i64));
        }
    }

    #[test]
    fn the_default_timeout_keeps_a_crashed_workers_rows_about_ten_minutes() {
        let plan = ClaimPlan::for_timeout(Std::from_secs(30));
        assert_eq!(plan.batch, 13);
        assert!(plan.batch_lease <= Duration::minutes(10));
        let plan = ClaimPlan::for_timeout(Std::from_millis(300));
        assert_eq!(plan.batch, 37);
        assert_eq!(plan.message_lease, Duration::seconds(16));
    }
}
