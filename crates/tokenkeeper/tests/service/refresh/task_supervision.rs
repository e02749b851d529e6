//! A background task of `serve` that dies is not silently gone: it is logged with its panic
//! message, `/healthz` names it until it is back, it is restarted and counted, and shutdown
//! still completes in bounded time. The task killed here is the scheduler, through a clock
//! that panics once when told to: once the success report's gauges have been computed after
//! the scheduler's catch-up sweep, the scheduler is the only part of the service under test
//! that reads this clock on its own.

use crate::service_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::metric_values::{metric_values, only};
use crate::support::{spawn_app, t0, TestApp};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use test_databases::Backend;
use tokenkeeper::app::Application;
use tokenkeeper::domain::{Clock, ManualClock};
use tokenkeeper::report::LatestReport;
use tokenkeeper::workers::TaskHealth;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

service_tests!(a_dead_task_is_reported_until_restarted_and_stops_in_time);
service_tests!(in_own_process: a_dead_task_is_restarted_counted_and_logged);

/// Long enough for a slow machine; nothing waits this long when all is well.
const BOUND: Duration = Duration::from_secs(20);

/// A clock with a bug that can be switched on: the next read panics, once.
struct TrippingClock {
    inner: ManualClock,
    armed: AtomicBool,
    tripped: Notify,
}

impl Clock for TrippingClock {
    fn now(&self) -> DateTime<Utc> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.tripped.notify_one();
            panic!("a deliberate bug in the clock");
        }
        self.inner.now()
    }
}

struct Watched {
    base: url::Url,
    clock: Arc<TrippingClock>,
    health: TaskHealth,
    report: LatestReport,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<anyhow::Result<()>>,
}

/// A second service over `app`'s database whose scheduler runs on a clock of its own.
async fn serve_with_scheduler(app: &TestApp, first_restart_pause: Duration) -> Watched {
    let clock = Arc::new(TrippingClock {
        inner: ManualClock::new(t0()),
        armed: AtomicBool::new(false),
        tripped: Notify::new(),
    });
    let mut config = app.config.clone();
    config.schedule.enabled = true;
    config.schedule.poll = Duration::from_millis(5);
    let mut service = Application::build_with_store(config, app.store.clone(), clock.clone())
        .await
        .expect("the service builds");
    service.set_first_restart_pause(first_restart_pause);
    let base = service.public_url().clone();
    let health = service.task_health();
    let report = service.state().success_report.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(service.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Watched {
        base,
        clock,
        health,
        report,
        stop: Some(stop),
        server,
    }
}

impl Watched {
    /// Kills the scheduler and returns once it has died.
    async fn kill_scheduler(&self) {
        // The gauges read the clock after each sweep: the catch-up sweep's turn has passed.
        tokio::time::timeout(BOUND, self.report.wait_after_sweeps(1))
            .await
            .expect("the gauges follow the catch-up sweep");
        let tripped = self.clock.tripped.notified();
        self.clock.armed.store(true, Ordering::SeqCst);
        tokio::time::timeout(BOUND, tripped)
            .await
            .expect("the scheduler reads its clock");
    }

    /// Shuts down as SIGTERM does, and checks it completes in bounded time.
    async fn shut_down(mut self) {
        drop(self.stop.take());
        tokio::time::timeout(BOUND, self.server)
            .await
            .expect("shutdown completes in bounded time")
            .unwrap()
            .expect("serve ends without error");
    }
}

async fn a_dead_task_is_reported_until_restarted_and_stops_in_time() {
    let logs = LogCapture::start("tokenkeeper=info", LogFormat::Json);
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    // Not restarted while the test looks: the pause outlasts it.
    let watched = serve_with_scheduler(&app, Duration::from_secs(3600)).await;
    let healthz = watched.base.join("/healthz").unwrap();
    let answer = app.browser.get(healthz.clone()).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    watched.kill_scheduler().await;
    tokio::time::timeout(
        BOUND,
        watched.health.wait_for(|down| down.contains("scheduler")),
    )
    .await
    .expect("the dead scheduler is noticed");
    let answer = app.browser.get(healthz.clone()).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.text().await.unwrap(), "down: scheduler");

    let died = logs
        .text()
        .lines()
        .find(|line| line.contains("background task died"))
        .expect("the death is logged")
        .to_owned();
    assert!(died.contains(r#""task":"scheduler""#), "{died}");
    assert!(died.contains("a deliberate bug in the clock"), "{died}");
    assert!(died.contains(r#""level":"ERROR""#), "{died}");
    // Shutdown does not wait for the pause before the restart: every task returns by itself.
    watched.shut_down().await;
    let text = logs.text();
    assert!(!text.contains("did not stop in time"), "{text}");
}

async fn a_dead_task_is_restarted_counted_and_logged() {
    let logs = LogCapture::start("tokenkeeper=info", LogFormat::Human);
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    let watched = serve_with_scheduler(&app, Duration::from_millis(1)).await;
    let restarts = || async {
        only(
            &metric_values(&app).await,
            &["tokenkeeper_task_restarts_total"],
        )
    };
    assert_eq!(
        restarts().await,
        BTreeMap::from([
            (
                r#"tokenkeeper_task_restarts_total{task="connect purge"}"#.to_owned(),
                0.0
            ),
            (
                r#"tokenkeeper_task_restarts_total{task="rate limit cleaner"}"#.to_owned(),
                0.0
            ),
            (
                r#"tokenkeeper_task_restarts_total{task="scheduler"}"#.to_owned(),
                0.0
            ),
            (
                r#"tokenkeeper_task_restarts_total{task="success report"}"#.to_owned(),
                0.0
            ),
        ])
    );

    watched.kill_scheduler().await;
    // Only the scheduler reads this clock: a read after its death is the restarted one's.
    tokio::time::timeout(BOUND, watched.clock.inner.read_again(1))
        .await
        .expect("the scheduler is restarted");
    assert!(watched.health.down().is_empty());
    let answer = app
        .browser
        .get(watched.base.join("/healthz").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        restarts().await[r#"tokenkeeper_task_restarts_total{task="scheduler"}"#],
        1.0
    );
    let text = logs.text();
    assert!(text.contains("background task died"), "{text}");
    assert!(text.contains("background task restarted"), "{text}");
    watched.shut_down().await;
}
