//! The outbox's claims: the outcome of a send is written only by the worker that holds the
//! row's claim, and only while the row is pending. A reconnect's cancellation wins over a
//! send under way, and a worker whose claim was taken over neither sends nor marks.

use crate::backend_tests;
use crate::email::notify::members_to_email;
use crate::email::smtp::SmtpServer;
use crate::support::{spawn_app, TestApp};
use chrono::Duration;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::NotificationStatus;
use tokenkeeper::notify::{Delivery, DeliveryReport, Transport};
use tokenkeeper::store::{Lease, StoredNotification};

backend_tests!(
    a_row_cancelled_while_its_email_is_sent_stays_cancelled,
    an_expired_claim_taken_over_is_not_marked_by_its_first_holder,
    two_workers_with_a_slow_smtp_server_never_send_one_email_twice,
    a_row_of_an_unknown_kind_is_marked_failed_and_counted,
);

/// A mail worker sending to `port` whose SMTP conversations may last `timeout`.
pub fn worker_with_timeout(app: &TestApp, port: u16, timeout: std::time::Duration) -> Delivery {
    let mut worker = app.delivery(port);
    worker.smtp.timeout = timeout;
    worker.transport = Transport::smtp(&worker.smtp).unwrap().unwrap();
    worker
}

async fn outbox_of(app: &TestApp, user: &str) -> Vec<StoredNotification> {
    let account = app.account(user).await;
    app.store.notifications_for(account.id).await.unwrap()
}

async fn a_row_cancelled_while_its_email_is_sent_stays_cancelled(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 2).await;
    let mut held = smtp.hold_messages();
    let worker = app.delivery(smtp.port);
    let sending = tokio::spawn(async move { worker.send_pending().await.unwrap() });

    // user-0's email is on the wire; both members reconnect before the server answers.
    let first = held.recv().await.unwrap();
    app.relinked("user-0").await;
    app.relinked("user-1").await;
    first.release.send(()).unwrap();
    let report = sending.await.unwrap();

    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            skipped: 1,
            ..DeliveryReport::default()
        }
    );
    assert_eq!(smtp.received().len(), 1, "user-1's email was not sent");
    for user in ["user-0", "user-1"] {
        let statuses: Vec<_> = outbox_of(&app, user)
            .await
            .into_iter()
            .map(|n| n.status)
            .collect();
        assert!(
            statuses.iter().all(|s| *s == NotificationStatus::Cancelled),
            "{user}: {statuses:?}"
        );
    }
}

async fn an_expired_claim_taken_over_is_not_marked_by_its_first_holder(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    members_to_email(&app, 1).await;
    let now = app.clock_now();
    let lease = |holder: &str, now| Lease {
        holder: holder.into(),
        now,
        until: now + Duration::minutes(10),
    };
    let first = app
        .store
        .claim_notifications(&lease("first", now), 10)
        .await;
    let id = first.unwrap()[0].id();
    let later = now + Duration::minutes(11);
    let second = app
        .store
        .claim_notifications(&lease("second", later), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "the expired claim is taken over");

    let store = &app.store;
    assert!(!store
        .renew_notification_claim(id, &lease("first", later))
        .await
        .unwrap());
    assert!(!store
        .mark_retry(id, "first", "timed out", later)
        .await
        .unwrap());
    assert!(!store
        .mark_failed(id, "first", "gave up", NotificationStatus::Failed)
        .await
        .unwrap());
    assert!(!store.mark_sent(id, "first", "<m@x>", later).await.unwrap());
    // The first holder's writes changed nothing: the row is still the second's to send.
    let row = &outbox_of(&app, "user-0").await[0];
    assert_eq!(
        (row.status.as_str(), row.attempts, row.last_error.as_deref()),
        ("pending", 0, None)
    );
    assert!(store
        .renew_notification_claim(id, &lease("second", later))
        .await
        .unwrap());
    assert!(store.mark_sent(id, "second", "<m@x>", later).await.unwrap());
    let row = &outbox_of(&app, "user-0").await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
    // Once sent, even the holder of the last claim cannot change it.
    assert!(!store.mark_retry(id, "second", "late", later).await.unwrap());
}

async fn two_workers_with_a_slow_smtp_server_never_send_one_email_twice(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    members_to_email(&app, 3).await;
    // Every message of the first worker takes its whole time-out: it is held by the server
    // while the clock moves on by that much and the second worker polls.
    let timeout = std::time::Duration::from_secs(300);
    let slow = SmtpServer::start().await;
    let mut held = slow.hold_messages();
    let quick = SmtpServer::start().await;
    let first = worker_with_timeout(&app, slow.port, timeout);
    let second = worker_with_timeout(&app, quick.port, timeout);
    let mut sending = tokio::spawn(async move { first.send_pending().await.unwrap() });
    let mut by_second = DeliveryReport::default();
    let by_first = loop {
        tokio::select! {
            report = &mut sending => break report.unwrap(),
            Some(message) = held.recv() => {
                app.clock.advance(Duration::from_std(timeout).unwrap());
                let report = second.send_pending().await.unwrap();
                by_second.sent += report.sent;
                message.release.send(()).unwrap();
            }
        }
    };

    let mut ids: Vec<_> = slow
        .received()
        .iter()
        .chain(quick.received().iter())
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(by_first.sent + by_second.sent, 3);
    assert_eq!(ids.len(), 3, "{ids:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    for i in 0..3 {
        let rows = outbox_of(&app, &format!("user-{i}")).await;
        assert_eq!(rows[0].status, NotificationStatus::Sent);
    }
}

/// A row this version cannot read (written by a newer one, or by hand) is given up, counted
/// as failed and kept for the operator, never sent or silently skipped.
async fn a_row_of_an_unknown_kind_is_marked_failed_and_counted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 1).await;
    let rename = "UPDATE notifications SET kind = 'from_a_newer_version'";
    crate::support::raw_sql::execute(app.config.database_url.expose(), rename)
        .await
        .unwrap();
    let report = app.delivery(smtp.port).send_pending().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            failed: 1,
            ..DeliveryReport::default()
        }
    );
    assert!(smtp.received().is_empty());
    // The email due now is given up; the reminder due later waits for its time. Read past
    // the store, which refuses a kind it does not know.
    let rows: Vec<(String, Option<String>)> = crate::support::raw_sql::rows(
        app.config.database_url.expose(),
        "SELECT status, last_error FROM notifications ORDER BY id",
    )
    .await;
    let failed: Vec<_> = rows
        .iter()
        .filter(|(status, _)| status == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert_eq!(failed[0].1.as_deref(), Some("unknown notification kind"));
    assert!(rows
        .iter()
        .all(|(status, _)| status == "failed" || status == "pending"));
}
