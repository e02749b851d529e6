//! The sweep's planning of refresh-token reminders: the number it reports is the number of
//! reminders it wrote, and planning the same day again writes none twice.

use crate::backend_tests;
use crate::support::{spawn_app, t0, TestApp};
use chrono::{DateTime, Duration, Utc};
use test_databases::Backend;

backend_tests!(planning_reports_each_reminder_written_once);

async fn plan(app: &TestApp, now: DateTime<Utc>) -> u64 {
    tokenkeeper::notify::plan_reminders(app.store.as_ref(), &app.config.notify, now)
        .await
        .unwrap()
}

async fn planning_reports_each_reminder_written_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let accounts = app.seed(3, t0()).await;
    let end = accounts[0].refresh_token_expires_at.unwrap();

    assert_eq!(plan(&app, end - Duration::days(31)).await, 0);
    let now = end - Duration::days(30);
    assert_eq!(plan(&app, now).await, 3);
    assert_eq!(plan(&app, now).await, 0);

    for account in &accounts {
        let planned: Vec<_> = app
            .store
            .notifications_for(account.id)
            .await
            .unwrap()
            .into_iter()
            .map(|n| (n.kind.to_string(), n.status.to_string()))
            .collect();
        assert_eq!(
            planned,
            [("refresh_token_ending_30".to_owned(), "pending".to_owned())]
        );
    }
}
