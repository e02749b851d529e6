//! SMTP servers that misbehave on purpose: one that never answers, one that trickles, one
//! that answers with pages of text. None may hold the mail worker longer than
//! `smtp.timeout_seconds` per message, or flood the logs and the outbox's `last_error`.

use crate::backend_tests;
use crate::email::notify::members_to_email;
use crate::email::outbox::worker_with_timeout;
use crate::email::smtp::{silent_server, trickling_server, verbose_refusing_server};
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::{spawn_app, TestApp};
use std::time::{Duration, Instant};
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::notify::DeliveryReport;

backend_tests!(
    a_silent_smtp_server_costs_one_timeout_and_the_email_is_retried,
    a_trickling_smtp_server_costs_one_timeout_and_the_email_is_retried,
    a_long_smtp_refusal_is_cut_in_the_logs_and_the_outbox,
);

/// Short, for the servers that never finish: each costs exactly one of it.
const TIMEOUT: Duration = Duration::from_millis(300);

/// Delivers what is due through the server on `port`, each message given `timeout`; fails the
/// test if the pass is held far longer than that.
async fn one_pass_against(app: &TestApp, port: u16, timeout: Duration) -> DeliveryReport {
    let worker = worker_with_timeout(app, port, timeout);
    let started = Instant::now();
    let report = tokio::time::timeout(timeout + Duration::from_secs(20), worker.send_pending())
        .await
        .expect("the mail worker is not held by the server")
        .unwrap();
    assert!(
        started.elapsed() < timeout + Duration::from_secs(15),
        "{report:?}"
    );
    report
}

async fn the_email_is_retried_after(app: &TestApp, port: u16) {
    members_to_email(app, 1).await;
    let report = one_pass_against(app, port, TIMEOUT).await;
    assert_eq!(
        report,
        DeliveryReport {
            retrying: 1,
            ..DeliveryReport::default()
        }
    );
    let account = app.account("user-0").await;
    let row = &app.store.notifications_for(account.id).await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    let error = row.last_error.as_deref().unwrap();
    assert!(
        error.contains("did not finish within 0.3 seconds"),
        "{error}"
    );
}

async fn a_silent_smtp_server_costs_one_timeout_and_the_email_is_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    the_email_is_retried_after(&app, silent_server().await).await;
}

async fn a_trickling_smtp_server_costs_one_timeout_and_the_email_is_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    the_email_is_retried_after(&app, trickling_server().await).await;
}

async fn a_long_smtp_refusal_is_cut_in_the_logs_and_the_outbox(backend: Backend) {
    let logs = LogCapture::start("debug", LogFormat::Human);
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    members_to_email(&app, 1).await;
    // About 80 kB of refusal over 200 lines: as much as lettre reads of one answer. The
    // server answers at once, so the time-out is generous: a loaded machine must not cut the
    // refusal short before it is read.
    let port = verbose_refusing_server(200).await;
    let generous = Duration::from_secs(30);
    assert_eq!(one_pass_against(&app, port, generous).await.retrying, 1);

    let account = app.account("user-0").await;
    let row = &app.store.notifications_for(account.id).await.unwrap()[0];
    let error = row.last_error.as_deref().unwrap();
    assert!(error.contains("550") || error.contains("5.7.1"), "{error}");
    assert!(
        error.len() < 1_000,
        "last_error holds {} bytes",
        error.len()
    );
    let logs = logs.text();
    assert!(logs.contains("will retry"), "{logs}");
    // The refusal says "no. " 20,000 times; each log line may quote only a cut of it.
    let quoting: Vec<_> = logs.lines().filter(|l| l.contains("5.7.1")).collect();
    assert!(!quoting.is_empty(), "{logs}");
    for line in &quoting {
        assert!(line.len() < 1_000, "a log line of {} bytes", line.len());
    }
    assert!(logs.matches("no. ").count() < 500);
    assert!(
        !logs.contains(" 199 "),
        "the end of the refusal reached the logs"
    );
}
