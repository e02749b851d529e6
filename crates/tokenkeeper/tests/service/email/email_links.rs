//! How long an emailed reconnect link lives: a week past the deadline it names, and at least
//! eight days from sending when the email goes out late (an SMTP outage past the deadline).

use crate::backend_tests;
use crate::email::notify::{link_in, members_to_email};
use crate::email::smtp::SmtpServer;
use crate::support::spawn_app;
use chrono::{DateTime, Duration, Utc};
use test_databases::Backend;
use tokenkeeper::domain::NotificationStatus;

backend_tests!(
    an_emailed_link_lives_a_week_past_its_deadline,
    a_late_email_still_gets_a_link_that_lives_eight_days,
);

fn expires_of(link: &url::Url) -> i64 {
    link.query_pairs()
        .find(|(k, _)| k == "expires")
        .map(|(_, v)| v.parse().unwrap())
        .expect("a connect link names its expiry")
}

/// The deadline of the one email sent so far for `user`.
async fn sent_deadline(app: &crate::support::TestApp, user: &str) -> DateTime<Utc> {
    let account = app.account(user).await;
    let rows = app.store.notifications_for(account.id).await.unwrap();
    let sent: Vec<_> = rows
        .iter()
        .filter(|r| r.status == NotificationStatus::Sent)
        .collect();
    assert_eq!(sent.len(), 1, "{rows:?}");
    sent[0].deadline
}

async fn an_emailed_link_lives_a_week_past_its_deadline(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 1).await;
    assert_eq!(
        app.delivery(smtp.port).send_pending().await.unwrap().sent,
        1
    );
    let deadline = sent_deadline(&app, "user-0").await;
    assert!(deadline > app.clock_now() + Duration::days(1));
    let link = link_in(&smtp.received()[0]);
    assert_eq!(
        expires_of(&link),
        (deadline + Duration::days(7)).timestamp()
    );
}

async fn a_late_email_still_gets_a_link_that_lives_eight_days(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 1).await;
    let account = app.account("user-0").await;
    let rows = app.store.notifications_for(account.id).await.unwrap();
    let deadline = rows.iter().map(|r| r.deadline).min().unwrap();
    // The mail server was down until a day after the deadline.
    let late = deadline + Duration::days(1);
    app.clock.set(late);
    let report = app.delivery(smtp.port).send_pending().await.unwrap();
    assert!(report.sent >= 1, "{report:?}");
    let link = link_in(&smtp.received()[0]);
    assert_eq!(expires_of(&link), (late + Duration::days(8)).timestamp());
}
