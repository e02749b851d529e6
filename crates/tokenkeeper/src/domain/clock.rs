use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Where "now" comes from. Code takes the clock it is given so tests, `--as-of` and the demo
/// can move through weeks in seconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Completes when whoever sets the time may have moved it (a simulated clock): a worker
    /// pausing between passes wakes for it rather than sleeping out its poll in real time.
    /// Real time never jumps that way, so by default this never completes.
    fn jumped(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending())
    }
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
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    /// How often the time was read: a task that waits by looking at the clock (the
    /// scheduler) shows it has seen a moved clock by reading it, so a test need not sleep.
    reads: tokio::sync::watch::Sender<u64>,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(at),
            reads: tokio::sync::watch::Sender::new(0),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().expect("clock lock");
        *now += by;
    }

    /// Completes once the time has been read `times` more times after this call.
    pub async fn read_again(&self, times: u64) {
        let mut reads = self.reads.subscribe();
        let from = *reads.borrow_and_update();
        let _ = reads.wait_for(|&n| n >= from + times).await;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let now = self.now.lock().expect("clock lock");
        // Counted while the time is held, so a read counted after a `set` saw the new time.
        self.reads.send_modify(|n| *n += 1);
        *now
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
