//! When a member is written to again, and when a queued email is dropped: a reconnect opens a
//! new episode (a later failure emails again), and a warning about failing refreshes is not
//! sent once refreshing works again.

use crate::backend_tests;
use crate::email::smtp::SmtpServer;
use crate::support::{spawn, spawn_app, t0, Setup};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, NotificationKind};

backend_tests!(
    a_member_who_fails_again_after_reconnecting_is_emailed_again,
    a_refresh_failing_warning_is_not_sent_after_recovery,
);

async fn a_member_who_fails_again_after_reconnecting_is_emailed_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let account = app.linked("ada").await;

    // First episode: LinkedIn refuses the refresh for good, the member is told.
    app.fake
        .controls()
        .revoke_member(account.member_id.as_str());
    let day50 = t0() + Duration::days(50);
    app.sweep_at(day50).await;
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);

    // The member reconnects the next day, and fifty days later it happens again.
    let day51 = day50 + Duration::days(1);
    app.at(day51);
    let relinked = app.relinked("ada").await;
    assert_eq!(relinked.status, AccountStatus::Active);
    app.fake
        .controls()
        .revoke_member(account.member_id.as_str());
    app.sweep_at(day51 + Duration::days(50)).await;
    assert_eq!(
        app.account("ada").await.status,
        AccountStatus::NeedsReconnect
    );
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);

    let mails = smtp.received();
    let subjects: Vec<_> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects
            .iter()
            .all(|s| s.starts_with("Action needed: reconnect your LinkedIn account")),
        "{subjects:?}"
    );
    let ids: Vec<_> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_ne!(ids[0], ids[1], "each episode's email is a new email");
    let required: Vec<_> = app
        .store
        .notifications_for(account.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == NotificationKind::ReconnectRequired)
        .map(|n| (n.episode, n.status.to_string()))
        .collect();
    assert_eq!(
        required,
        [
            (episode(account.linked_at), "sent".to_owned()),
            (episode(day51), "sent".to_owned()),
        ]
    );
}

fn episode(linked_at: chrono::DateTime<chrono::Utc>) -> String {
    tokenkeeper::domain::NewNotification::episode_of(linked_at)
}

async fn a_refresh_failing_warning_is_not_sent_after_recovery(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 1)).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let account = app.linked("ada").await;

    // LinkedIn is down close to the token's end: a warning is queued, not yet sent.
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), None);
    let failing_at = account.token_expires_at - Duration::days(2);
    app.sweep_at(failing_at).await;
    assert_eq!(
        app.account("ada").await.status,
        AccountStatus::RefreshFailing
    );
    let queued: Vec<_> = app
        .store
        .notifications_for(account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind.to_string(), n.status.to_string()))
        .collect();
    assert_eq!(
        queued,
        [("refresh_failing".to_owned(), "pending".to_owned())]
    );

    // LinkedIn is back before the mail worker's turn: the next sweep refreshes the token.
    app.fake.controls().clear_faults();
    app.sweep_at(failing_at + Duration::hours(12)).await;
    assert_eq!(app.account("ada").await.status, AccountStatus::Active);

    let report = worker.send_pending().await.unwrap();
    assert_eq!((report.sent, report.cancelled), (0, 1));
    assert!(smtp.received().is_empty());
    let after: Vec<_> = app
        .store
        .notifications_for(account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind.to_string(), n.status.to_string()))
        .collect();
    assert_eq!(
        after,
        [("refresh_failing".to_owned(), "cancelled".to_owned())]
    );
}
