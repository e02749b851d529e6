//! The background tasks of `serve` (the scheduler, the mail worker, the webhook worker, the
//! connect purge, the success report's gauges, the rate limit cleaner), watched.
//! Each is a loop that resumes from the database, so one that dies (a panic, a bug that
//! returns) is logged, counted in `tokenkeeper_task_restarts_total{task}` and started again
//! after a pause that doubles with each death; while it waits, `/healthz` names it. Shutdown
//! cancels one token and waits for every task to return by itself: nothing is aborted, so a
//! running sweep still records its run as interrupted.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// The longest pause before a restart. A task that ran this long before dying was healthy
/// meanwhile, so its next death starts again from the first pause.
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(60);

/// The background tasks that are down, waiting to be restarted.
#[derive(Clone)]
pub struct TaskHealth(watch::Sender<BTreeSet<&'static str>>);

impl Default for TaskHealth {
    fn default() -> Self {
        Self(watch::Sender::new(BTreeSet::new()))
    }
}

impl TaskHealth {
    /// The tasks down right now, by name.
    pub fn down(&self) -> Vec<&'static str> {
        self.0.borrow().iter().copied().collect()
    }

    /// Completes once the set of tasks down satisfies `ready`: a test waits for a death or a
    /// restart without sleeping.
    pub async fn wait_for(&self, mut ready: impl FnMut(&BTreeSet<&'static str>) -> bool) {
        let mut changes = self.0.subscribe();
        let _ = changes.wait_for(|down| ready(down)).await;
    }

    fn set_down(&self, task: &'static str, down: bool) {
        self.0.send_modify(|tasks| {
            if down {
                tasks.insert(task);
            } else {
                tasks.remove(task);
            }
        });
    }
}

pub struct Supervisor {
    stop: CancellationToken,
    health: TaskHealth,
    first_pause: Duration,
    watchers: Vec<(&'static str, JoinHandle<()>)>,
}

impl Supervisor {
    /// `stop` is the token every watched task must return on; `first_pause` is how long a
    /// task that died waits before its first restart.
    pub fn new(stop: CancellationToken, health: TaskHealth, first_pause: Duration) -> Self {
        Self {
            stop,
            health,
            first_pause,
            watchers: Vec::new(),
        }
    }

    /// Runs what `start` makes as the task `task`, again each time it ends before shutdown.
    /// What `start` makes must return soon after the stop token is cancelled.
    pub fn watch<F, Fut>(&mut self, task: &'static str, mut start: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        let health = self.health.clone();
        let first_pause = self.first_pause;
        // Shown at zero from the start, so an alert on its rate has a series to read.
        metrics::counter!("tokenkeeper_task_restarts_total", "task" => task).increment(0);
        let watcher = async move {
            let mut last_pause = None;
            loop {
                let started = Instant::now();
                // A task of its own, so that a panic ends only this run of it.
                let ended =
                    tokio::spawn(start().instrument(tracing::info_span!("task", task))).await;
                let why = match ended {
                    Ok(()) if stop.is_cancelled() => return,
                    Ok(()) => "it returned while the service runs".to_owned(),
                    Err(e) => death(e),
                };
                if stop.is_cancelled() {
                    tracing::error!(task, error = %why, "background task died while stopping");
                    return;
                }
                let pause = restart_pause(last_pause, started.elapsed(), first_pause);
                last_pause = Some(pause);
                health.set_down(task, true);
                tracing::error!(
                    task,
                    error = %why,
                    restart_in_ms = pause.as_millis() as u64,
                    "background task died; it will be restarted"
                );
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => return,
                }
                metrics::counter!("tokenkeeper_task_restarts_total", "task" => task).increment(1);
                tracing::info!(task, "background task restarted");
                health.set_down(task, false);
            }
        };
        self.watchers
            .push((task, tokio::spawn(watcher.in_current_span())));
    }

    /// Cancels the stop token and waits, until `grace` has passed, for every task to return.
    /// One still running then is left to end with the process, and logged.
    pub async fn stop(self, grace: Duration) {
        self.stop.cancel();
        // One deadline for all of them: they stop at the same time, not one after another.
        let deadline = Instant::now() + grace;
        for (task, watcher) in self.watchers {
            match tokio::time::timeout_at(deadline, watcher).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(task, error = %death(e), "the watcher of a background task died")
                }
                Err(_) => tracing::warn!(task, "background task did not stop in time"),
            }
        }
    }
}

/// The pause before restarting a task that died after running for `ran_for`: `first` for its
/// first death, or after a run long enough to count as healthy; else the last pause doubled,
/// so a task that dies at once does not spin, up to `MAX_RESTART_PAUSE`.
fn restart_pause(last: Option<Duration>, ran_for: Duration, first: Duration) -> Duration {
    match last {
        Some(last) if ran_for < MAX_RESTART_PAUSE => {
            last.saturating_mul(2).min(MAX_RESTART_PAUSE).max(first)
        }
        _ => first,
    }
}

/// Why a task ended abnormally: its panic message, on one bounded line. The standard panic
/// hook has already printed the same message to stderr; our secret types never print
/// themselves, so it holds no token.
fn death(error: JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("panicked: {}", crate::telemetry::outside_text(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_pauses_double_up_to_a_minute_and_start_over_after_a_healthy_run() {
        let first = Duration::from_secs(1);
        let quick = Duration::from_millis(10);
        let mut pauses = Vec::new();
        let mut last = None;
        for _ in 0..9 {
            let pause = restart_pause(last, quick, first);
            pauses.push(pause.as_secs());
            last = Some(pause);
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        let healthy = MAX_RESTART_PAUSE;
        assert_eq!(restart_pause(last, healthy, first), first);
        assert_eq!(
            restart_pause(Some(first), healthy - quick, first),
            first * 2
        );
    }
}
