//! Readiness, apart from liveness: `/healthz` says the process lives and its tasks run;
//! `/readyz` says whether this instance can do its work now. It fails (503) when the database
//! does not answer a round trip quickly, when the scheduler is more than one slot late, or when
//! a background task it needs (scheduler, mail worker) is down. Its report names each check
//! and never a secret: database errors are logged, and answered only as "unreachable". The
//! database is asked at most once a second (`database.rs`); the other checks read memory.

mod database;

pub use crate::workers::SchedulerProgress;
pub use database::{DatabaseCheck, CHECK_INTERVAL, DATABASE_TIMEOUT};

use crate::domain::Clock;
use crate::domain::Schedule;
use crate::workers::TaskHealth;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The task names the supervisor uses for the two tasks readiness depends on.
pub const SCHEDULER_TASK: &str = "scheduler";
pub const MAIL_WORKER_TASK: &str = "mail worker";

/// What readiness looks at. Cheap to clone: every field is shared.
#[derive(Clone)]
pub struct Readiness {
    pub database: DatabaseCheck,
    pub clock: Arc<dyn Clock>,
    pub tasks: TaskHealth,
    /// `None` when `schedule.enabled` is false: this instance runs no sweeps.
    pub scheduler: Option<(Schedule, SchedulerProgress)>,
    /// Whether this instance delivers email (an SMTP server is configured).
    pub mail_worker: bool,
}

/// One check's verdict: `ok` (or why it does not apply), or what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Verdict {
    Ok(String),
    Failing(String),
}

#[derive(Debug, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub checks: BTreeMap<&'static str, Verdict>,
}

impl Readiness {
    pub async fn check(&self) -> ReadinessReport {
        let mut checks = BTreeMap::new();
        checks.insert("database", self.database.verdict().await);
        checks.insert("scheduler", self.scheduler());
        checks.insert("mail_worker", self.mail_worker());
        let ready = checks.values().all(|v| matches!(v, Verdict::Ok(_)));
        ReadinessReport { ready, checks }
    }

    fn scheduler(&self) -> Verdict {
        let Some((schedule, progress)) = &self.scheduler else {
            return Verdict::Ok("off (schedule.enabled is false)".into());
        };
        if self.tasks.down().contains(&SCHEDULER_TASK) {
            return Verdict::Failing("down, waiting to be restarted".into());
        }
        let Some(owed) = progress.owed() else {
            return Verdict::Failing("not started yet".into());
        };
        match lateness(schedule, owed, self.clock.now()) {
            None => Verdict::Ok("ok".into()),
            Some(missed) => Verdict::Failing(format!(
                "late: the slot of {} has not started and the slot of {} has come too",
                owed.to_rfc3339(),
                missed.to_rfc3339()
            )),
        }
    }

    fn mail_worker(&self) -> Verdict {
        if !self.mail_worker {
            return Verdict::Ok("off (no smtp.host: emails wait in the outbox)".into());
        }
        if self.tasks.down().contains(&MAIL_WORKER_TASK) {
            return Verdict::Failing("down, waiting to be restarted".into());
        }
        Verdict::Ok("ok".into())
    }
}

/// A scheduler that owes `owed` is more than one slot late once the slot after it has come:
/// being behind by less is normal (a sweep that runs into the next slot). Returns that slot.
pub fn lateness(
    schedule: &Schedule,
    owed: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    schedule.next_after(owed).filter(|after| *after <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_scheduler_is_late_only_once_the_slot_after_the_owed_one_has_come() {
        let schedule = Schedule::parse("0 0,12 * * *", chrono_tz::UTC).unwrap();
        let noon = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        let midnight = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
        let second = chrono::Duration::seconds(1);
        assert_eq!(lateness(&schedule, noon, noon - second), None);
        assert_eq!(lateness(&schedule, noon, noon + second), None);
        assert_eq!(lateness(&schedule, noon, midnight - second), None);
        assert_eq!(lateness(&schedule, noon, midnight), Some(midnight));
        assert_eq!(
            lateness(&schedule, noon, midnight + chrono::Duration::days(3)),
            Some(midnight)
        );
    }
}
