//! Refused sign-ins in the log, at a bounded rate: anyone can make the sign-in refuse them,
//! so a line per refusal would let a flood fill the disk. The first refusal after a quiet
//! minute is logged with its client and reason; the ones that follow within that minute are
//! only counted, and the first refusal after it writes one line with their number. A flood
//! thus writes a line a minute. Every refusal is counted in
//! `tokenkeeper_admin_sign_ins_refused_total{reason}`.

use crate::domain::EnumText;
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use std::sync::Mutex;
use strum::{IntoStaticStr, VariantArray};

/// How long after a line about refusals the next ones are only counted.
const QUIET: Duration = Duration::minutes(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Refusal {
    /// The form came without the token its page set (or was never loaded).
    NoFormToken,
    /// The client has used its attempts for now.
    TooManyAttempts,
    WrongPassword,
}

impl EnumText for Refusal {
    const WHAT: &'static str = "sign-in refusal";
}

/// Refusals by reason, in the order of `Refusal::ALL`.
type Counts = [u64; Refusal::ALL.len()];

/// What to write about a refusal.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// Nothing: another line was written less than a minute ago.
    None,
    /// The refusal itself: none went unlogged since the last line.
    One,
    /// The refusals since the last line, this one included, by reason.
    Summary(Counts),
}

#[derive(Default)]
pub struct RefusalLog(Mutex<Unlogged>);

#[derive(Default)]
struct Unlogged {
    /// When the last line was written.
    written_at: Option<DateTime<Utc>>,
    counts: Counts,
}

impl RefusalLog {
    pub fn refused(&self, refusal: Refusal, client: IpAddr, now: DateTime<Utc>) {
        metrics::counter!("tokenkeeper_admin_sign_ins_refused_total", "reason" => refusal.as_str())
            .increment(1);
        match self.line_for(refusal, now) {
            Line::None => {}
            Line::One => {
                tracing::warn!(%client, reason = refusal.as_str(), "dashboard sign-in refused");
            }
            Line::Summary([without_form_token, too_many_attempts, wrong_password]) => {
                tracing::warn!(
                    without_form_token,
                    too_many_attempts,
                    wrong_password,
                    last_client = %client,
                    "dashboard sign-ins refused since the last line about them"
                );
            }
        }
    }

    fn line_for(&self, refusal: Refusal, now: DateTime<Utc>) -> Line {
        let mut unlogged = self.0.lock().expect("refusal log lock");
        let index = Refusal::ALL
            .iter()
            .position(|r| *r == refusal)
            .expect("every refusal is in ALL");
        if unlogged.written_at.is_some_and(|at| now < at + QUIET) {
            unlogged.counts[index] += 1;
            return Line::None;
        }
        unlogged.written_at = Some(now);
        let mut counts = std::mem::take(&mut unlogged.counts);
        if counts == Counts::default() {
            return Line::One;
        }
        counts[index] += 1;
        Line::Summary(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_flood_writes_its_first_refusal_then_one_line_a_minute_with_the_count() {
        let log = RefusalLog::default();
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        assert_eq!(log.line_for(Refusal::NoFormToken, t), Line::One);
        for _ in 0..299 {
            assert_eq!(log.line_for(Refusal::NoFormToken, t), Line::None);
        }
        assert_eq!(
            log.line_for(
                Refusal::WrongPassword,
                t + QUIET - Duration::milliseconds(1)
            ),
            Line::None
        );
        assert_eq!(
            log.line_for(Refusal::TooManyAttempts, t + QUIET),
            Line::Summary([299, 1, 1])
        );
        // The count starts again with that line.
        let later = t + QUIET * 2;
        assert_eq!(
            log.line_for(Refusal::NoFormToken, later - Duration::milliseconds(1)),
            Line::None
        );
        assert_eq!(
            log.line_for(Refusal::NoFormToken, later),
            Line::Summary([2, 0, 0])
        );
        // After a quiet minute, a refusal is logged as itself again.
        assert_eq!(
            log.line_for(Refusal::WrongPassword, later + QUIET),
            Line::One
        );
    }

    #[test]
    fn reasons_have_stable_names() {
        let names = Refusal::ALL
            .iter()
            .copied()
            .map(Refusal::as_str)
            .collect::<Vec<_>>();
        assert_eq!(
            names,
            ["no_form_token", "too_many_attempts", "wrong_password"]
        );
    }
}
