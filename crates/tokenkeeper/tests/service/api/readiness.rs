//! `/readyz`: 200 while this instance can do its work, 503 when the database does not answer,
//! the scheduler is more than one slot late, or the mail worker is down. Anyone is told only
//! that; a caller with the API key, or on the metrics listener, is told which check fails.
//! However many call, the database is asked at most once a second. `/healthz` (liveness) is
//! tested in `health.rs` and `task_supervision.rs`.

use crate::support::metric_values::metric_values;
use crate::support::{spawn_app, t0, TestApp, API_KEY};
use crate::{backend_tests, service_tests};
use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_databases::Backend;
use tokenkeeper::app::Application;
use tokenkeeper::domain::Schedule;
use tokenkeeper::domain::{Clock, ManualClock};
use tokenkeeper::notify::Transport;
use tokenkeeper::readiness::{
    DatabaseCheck, Readiness, SchedulerProgress, Verdict, CHECK_INTERVAL,
};
use tokenkeeper::workers::TaskHealth;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use url::Url;

backend_tests!(readyz_names_every_check_when_ready);
service_tests!(
    readyz_tells_a_caller_without_the_key_only_whether_it_is_ready,
    readyz_fails_once_the_scheduler_is_more_than_one_slot_late,
    readyz_fails_while_the_mail_worker_is_down,
);
service_tests!(in_own_process: a_burst_of_readyz_calls_asks_the_database_at_most_once_a_second);
backend_tests!(only [Postgres]: readyz_fails_while_the_database_refuses_connections);

/// Long enough for a slow machine; nothing waits this long when all is well.
const BOUND: Duration = Duration::from_secs(20);

/// `/readyz` as an operator asks it, with the API key.
async fn readyz(browser: &reqwest::Client, base: &Url) -> (StatusCode, Value) {
    let answer = browser
        .get(base.join("/readyz").unwrap())
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

/// `/readyz` as anyone asks it; the body as text, to look for what it must not say.
async fn readyz_without_key(browser: &reqwest::Client, base: &Url) -> (StatusCode, String) {
    let answer = browser
        .get(base.join("/readyz").unwrap())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.text().await.unwrap())
}

/// Neither a check's name nor its detail: only whether the instance is ready.
fn assert_tells_nothing_more(body: &str, ready: bool) {
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body, json!({ "ready": ready }));
}

async fn readyz_names_every_check_when_ready(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = readyz(&app.browser, &app.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "ready": true,
            "checks": {
                "database": {"status": "ok", "detail": "ok"},
                "scheduler": {"status": "ok", "detail": "off (schedule.enabled is false)"},
                "mail_worker": {"status": "ok", "detail": "off (no smtp.host: emails wait in the outbox)"},
            }
        })
    );
}

async fn readyz_tells_a_caller_without_the_key_only_whether_it_is_ready() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let (status, body) = readyz_without_key(&app.browser, &app.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_tells_nothing_more(&body, true);
    // A wrong key, or the right one sent otherwise than as the API takes it, is no key.
    for authorization in [
        "Bearer not-the-key".to_owned(),
        format!("bearer {API_KEY}"),
        API_KEY.to_owned(),
    ] {
        let answer = app
            .browser
            .get(app.url("/readyz"))
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_tells_nothing_more(&answer.text().await.unwrap(), true);
    }
    let (status, body) = readyz(&app.browser, &app.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["database"]["detail"], "ok");
    // The metrics listener is the operators' own: it tells all without a key.
    let metrics_base = app.metrics_base.clone().expect("a metrics listener");
    let (status, body) = readyz_without_key(&app.browser, &metrics_base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["checks"]["mail_worker"]["status"], "ok", "{body}");
}

async fn a_burst_of_readyz_calls_asks_the_database_at_most_once_a_second() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let checks = |values: &std::collections::BTreeMap<String, f64>| {
        values
            .get("tokenkeeper_readiness_database_checks_total")
            .copied()
            .unwrap_or(0.0) as u64
    };
    let before = checks(&metric_values(&app).await);
    let started = Instant::now();
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let mut call = app.browser.get(app.url("/readyz"));
            if i % 2 == 0 {
                call = call.bearer_auth(API_KEY);
            }
            tokio::spawn(async move { call.send().await.unwrap().status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    let elapsed = started.elapsed();
    let made = checks(&metric_values(&app).await) - before;
    // An upper bound only: a slow machine takes longer and may check again, but never more
    // than once per interval.
    let allowed = 1 + (elapsed.as_secs_f64() / CHECK_INTERVAL.as_secs_f64()) as u64;
    assert!(
        (1..=allowed).contains(&made),
        "{made} database checks for 50 calls in {elapsed:?}"
    );
}

/// A second service over `app`'s database, with its own clock and, when asked, its scheduler.
struct Served {
    base: Url,
    /// Its metrics listener.
    metrics_base: Url,
    tasks: TaskHealth,
    progress: Option<SchedulerProgress>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn start(service: Application) -> Self {
        let base = service.public_url().clone();
        let metrics_base = Url::parse(&format!(
            "http://{}/",
            service.metrics_address().expect("a metrics listener")
        ))
        .unwrap();
        let tasks = service.task_health();
        let progress = service
            .state()
            .readiness
            .scheduler
            .as_ref()
            .map(|(_, progress)| progress.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(service.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            base,
            metrics_base,
            tasks,
            progress,
            stop: Some(stop),
            server,
        }
    }

    async fn shut_down(mut self) {
        drop(self.stop.take());
        tokio::time::timeout(BOUND, self.server)
            .await
            .expect("shutdown completes in bounded time")
            .unwrap()
            .expect("serve ends without error");
    }
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + chrono::Duration::hours(hour.into())
}

async fn readyz_fails_once_the_scheduler_is_more_than_one_slot_late() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    assert_eq!(t0(), at(8));
    let clock = Arc::new(ManualClock::new(t0()));
    let mut config = app.config.clone();
    config.schedule.enabled = true;
    // Between two looks at the clock the scheduler naps this long, for real.
    config.schedule.poll = Duration::from_secs(3600);
    let service = Application::build_with_store(config, app.store.clone(), clock.clone())
        .await
        .unwrap();
    let served = Served::start(service).await;
    let progress = served.progress.clone().expect("a scheduler");
    // At 08:00 the 00:00 slot is caught up, then the noon one is owed.
    tokio::time::timeout(BOUND, progress.wait_for(|owed| owed == Some(at(12))))
        .await
        .expect("the scheduler catches up and owes the noon slot");
    let (status, body) = readyz(&app.browser, &served.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["scheduler"]["detail"], "ok");

    served.shut_down().await;

    // A running scheduler reads the clock again after saying what it owes and would catch up
    // whatever the test's clock jumps past, so lateness is checked on a scheduler that is stuck
    // for sure: the same readiness check over the same store and clock, whose progress owes
    // the noon slot and never moves on.
    let stuck = SchedulerProgress::default();
    stuck.owe(at(12));
    let readiness = Readiness {
        database: DatabaseCheck::new(app.store.clone()),
        clock: clock.clone(),
        tasks: TaskHealth::default(),
        scheduler: Some((
            Schedule::parse(&app.config.schedule.cron, app.config.schedule.timezone).unwrap(),
            stuck,
        )),
        mail_worker: false,
    };

    // Behind by less than a slot is normal: a sweep may run into the next slot.
    clock.set(at(23) + chrono::Duration::minutes(59));
    let report = readiness.check().await;
    assert!(report.ready, "{report:?}");

    clock.set(at(24));
    let report = readiness.check().await;
    assert!(!report.ready, "{report:?}");
    let Some(Verdict::Failing(detail)) = report.checks.get("scheduler") else {
        panic!("the scheduler check must fail: {report:?}");
    };
    assert!(detail.starts_with("late"), "{detail}");
    assert!(detail.contains("2026-03-02T12:00:00"), "{detail}");
    assert_eq!(
        report.checks.get("database"),
        Some(&Verdict::Ok("ok".into()))
    );
}

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

async fn readyz_fails_while_the_mail_worker_is_down() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let clock = Arc::new(TrippingClock {
        inner: ManualClock::new(t0()),
        armed: AtomicBool::new(false),
        tripped: Notify::new(),
    });
    let mut config = app.config.clone();
    // Once the success report's gauges are first computed, the mail worker is the only task
    // that reads this clock: the scheduler is off (so no sweep makes the gauges look again),
    // the connect purge and the gauges wait minutes before their next look, and /readyz reads
    // it only for a scheduler.
    config.smtp.poll = Duration::from_millis(5);
    let mut service = Application::build_with_store(config, app.store.clone(), clock.clone())
        .await
        .unwrap();
    let outbox = tempfile::tempdir().unwrap();
    service
        .set_mail_transport(Transport::files(outbox.path()))
        .unwrap();
    // Not restarted while the test looks.
    service.set_first_restart_pause(Duration::from_secs(3600));
    let report = service.state().success_report.clone();
    let served = Served::start(service).await;
    tokio::time::timeout(BOUND, report.wait_after_sweeps(0))
        .await
        .expect("the gauges are computed at start");
    let (status, body) = readyz(&app.browser, &served.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["mail_worker"]["detail"], "ok");

    let tripped = clock.tripped.notified();
    clock.armed.store(true, Ordering::SeqCst);
    tokio::time::timeout(BOUND, tripped)
        .await
        .expect("the mail worker reads its clock");
    tokio::time::timeout(
        BOUND,
        served.tasks.wait_for(|down| down.contains("mail worker")),
    )
    .await
    .expect("the dead mail worker is noticed");
    let (status, body) = readyz(&app.browser, &served.base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        body["checks"]["mail_worker"],
        json!({"status": "failing", "detail": "down, waiting to be restarted"})
    );
    assert_eq!(body["checks"]["database"]["status"], "ok");
    // Anyone else learns that the instance is not ready, not which worker is off.
    let (status, body) = readyz_without_key(&app.browser, &served.base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_tells_nothing_more(&body, false);
    let (status, body) = readyz_without_key(&app.browser, &served.metrics_base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["checks"]["mail_worker"]["status"], "failing", "{body}");
    served.shut_down().await;
}

/// Closes the test database to new connections and ends the open ones, as a database server
/// that went away does; `false` opens it again.
async fn set_database_reachable(app: &TestApp, reachable: bool) {
    use sqlx::Connection;
    let url = Url::parse(app.config.database_url.expose()).unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    let mut admin_url = url.clone();
    admin_url.set_path("postgres");
    let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
        .await
        .unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {reachable}"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    if !reachable {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&name)
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

async fn readyz_fails_while_the_database_refuses_connections(backend: Backend) {
    let Some(app) = crate::support::spawn(backend, Default::default()).await else {
        return;
    };
    let (status, body) = readyz(&app.browser, &app.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    set_database_reachable(&app, false).await;
    let text = readyz_until(&app, StatusCode::SERVICE_UNAVAILABLE).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["checks"]["database"],
        json!({"status": "failing", "detail": "unreachable"})
    );
    // Neither the database's address nor its name reaches the answer.
    let url = Url::parse(app.config.database_url.expose()).unwrap();
    assert!(!text.contains(url.path().trim_start_matches('/')), "{text}");
    assert!(!text.contains("5432"), "{text}");

    set_database_reachable(&app, true).await;
    readyz_until(&app, StatusCode::OK).await;
}

/// `/readyz`, with the key, until it answers `status`; its body. A database check's verdict
/// stands for up to `CHECK_INTERVAL`, so the change shows on a later call.
async fn readyz_until(app: &TestApp, status: StatusCode) -> String {
    let asking = async {
        loop {
            let answer = app
                .browser
                .get(app.url("/readyz"))
                .bearer_auth(API_KEY)
                .send()
                .await
                .unwrap();
            if answer.status() == status {
                return answer.text().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(BOUND, asking)
        .await
        .unwrap_or_else(|_| panic!("/readyz did not answer {status} within {BOUND:?}"))
}
