use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// Where "now" comes from. Code takes the clock it is given so tests, `--as-of` and the demo
/// can move through weeks in seconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().expect("clock lock");
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap();
        let clock = ManualClock::new(at);
        assert_eq!(clock.now(), at);
        clock.advance(Duration::hours(2));
        assert_eq!(clock.now(), at + Duration::hours(2));
        clock.set(at - Duration::days(1));
        assert_eq!(clock.now(), at - Duration::days(1));
    }

    #[test]
    fn the_system_clock_reads_the_wall_clock() {
        let before = Utc::now();
        let read = SystemClock.now();
        assert!(read >= before && read <= Utc::now(), "{read}");
    }
}
