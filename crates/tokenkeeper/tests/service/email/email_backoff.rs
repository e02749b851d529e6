//! An email the SMTP server keeps refusing is retried with exponential backoff: the first
//! retry after `smtp.retry_initial_seconds`, the next after twice that.

use crate::backend_tests;
use crate::email::notify::members_to_email;
use crate::email::smtp::SmtpServer;
use crate::support::spawn_app;
use chrono::Duration;
use test_databases::Backend;

backend_tests!(retries_wait_twice_as_long_each_time);

async fn retries_wait_twice_as_long_each_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    smtp.set_down(true);
    members_to_email(&app, 1).await;
    let worker = app.delivery(smtp.port);
    let initial = Duration::from_std(app.config.smtp.retry_initial).unwrap();
    let retried_after = |wait: Duration| {
        let worker = &worker;
        let app = &app;
        async move {
            app.clock.advance(wait);
            worker.send_pending().await.unwrap().retrying
        }
    };
    assert_eq!(retried_after(Duration::zero()).await, 1, "first attempt");
    assert_eq!(retried_after(initial - Duration::seconds(1)).await, 0);
    assert_eq!(retried_after(Duration::seconds(1)).await, 1, "first retry");
    // The second retry waits twice the first delay.
    assert_eq!(retried_after(initial * 2 - Duration::seconds(1)).await, 0);
    assert_eq!(retried_after(Duration::seconds(1)).await, 1, "second retry");
}
