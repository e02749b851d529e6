use std::collections::VecDeque;
use std::sync::Mutex;

/// Ends a sweep early when most recent calls to LinkedIn failed transiently: hammering a
/// LinkedIn that is down helps nobody, and what is left is caught up at the next slot.
pub struct CircuitBreaker {
    window: usize,
    failure_ratio: f64,
    recent: Mutex<VecDeque<bool>>,
}

impl CircuitBreaker {
    pub fn new(window: usize, failure_ratio: f64) -> Self {
        Self {
            window: window.max(1),
            failure_ratio,
            recent: Mutex::new(VecDeque::with_capacity(window.max(1))),
        }
    }

    /// Records one call; returns whether the breaker is now open.
    pub fn record(&self, transient_failure: bool) -> bool {
        let mut recent = self.recent.lock().expect("breaker lock");
        if recent.len() == self.window {
            recent.pop_front();
        }
        recent.push_back(transient_failure);
        // Judge only a full window: a single early failure is not an outage.
        if recent.len() < self.window {
            return false;
        }
        let failures = recent.iter().filter(|f| **f).count();
        failures as f64 >= self.failure_ratio * self.window as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_on_a_full_window_of_mostly_failures() {
        let breaker = CircuitBreaker::new(5, 0.8);
        for _ in 0..4 {
            assert!(!breaker.record(true));
        }
        assert!(breaker.record(true));
        let breaker = CircuitBreaker::new(5, 0.8);
        for ok in [false, false, true, true, true] {
            assert!(!breaker.record(ok));
        }
    }

    #[test]
    fn opens_at_exactly_the_failure_share() {
        // Four failures in a window of five is 80%: enough to open at 80%.
        let breaker = CircuitBreaker::new(5, 0.8);
        for failed in [true, true, false, true] {
            assert!(!breaker.record(failed));
        }
        assert!(breaker.record(true));
    }

    #[test]
    fn old_failures_leave_the_window() {
        let breaker = CircuitBreaker::new(5, 0.8);
        for _ in 0..4 {
            breaker.record(true);
        }
        assert!(breaker.record(true));
        // Only the last five calls count: two successes leave three failures, 60%.
        assert!(breaker.record(false));
        assert!(!breaker.record(false));
        for _ in 0..10 {
            assert!(!breaker.record(false));
        }
    }

    #[test]
    fn successes_keep_it_closed() {
        let breaker = CircuitBreaker::new(4, 0.75);
        for i in 0..20 {
            assert!(!breaker.record(i % 2 == 0));
        }
    }
}
