//! What every sweep does besides refreshing: it plans the reminders before refresh tokens
//! reach their fixed end, and it prunes `refresh_log` rows older than
//! `refresh.log_retention_days`, and only those.

use crate::backend_tests;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp};
use chrono::Duration;
use test_databases::Backend;

backend_tests!(
    sweeps_plan_the_30_7_and_1_day_refresh_token_reminders,
    sweeps_prune_the_refresh_log_past_its_retention_only,
);

async fn sweeps_plan_the_30_7_and_1_day_refresh_token_reminders(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.linked("ada").await;
    let end = account.refresh_token_expires_at.unwrap();
    app.sweep_at(end - Duration::days(31)).await;
    assert!(
        kinds(&app, account.id).await.is_empty(),
        "{:?}",
        kinds(&app, account.id).await
    );
    app.sweep_at(end - Duration::days(30)).await;
    assert_eq!(kinds(&app, account.id).await, ["refresh_token_ending_30"]);
    app.sweep_at(end - Duration::days(7)).await;
    app.sweep_at(end - Duration::days(1)).await;
    assert_eq!(
        kinds(&app, account.id).await,
        [
            "refresh_token_ending_30",
            "refresh_token_ending_7",
            "refresh_token_ending_1"
        ]
    );
}

async fn sweeps_prune_the_refresh_log_past_its_retention_only(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup::default().var("REFRESH__LOG_RETENTION_DAYS", 10),
    )
    .await
    else {
        return;
    };
    let ada = app.linked("ada").await;
    app.at(t0() + Duration::days(5));
    let bo = app.linked("bo").await;
    // ada is refreshed at day 50, bo at day 55: one audit row each.
    let day50 = t0() + Duration::days(50);
    app.sweep_at(day50).await;
    app.sweep_at(day50 + Duration::days(5)).await;
    assert_eq!((rows(&app, ada.id).await, rows(&app, bo.id).await), (1, 1));

    // Exactly ten days after ada's row, it is still within its retention...
    app.sweep_at(day50 + Duration::days(10)).await;
    assert_eq!((rows(&app, ada.id).await, rows(&app, bo.id).await), (1, 1));
    // ...and a second later it is gone, while bo's younger row stays.
    app.sweep_at(day50 + Duration::days(10) + Duration::seconds(1))
        .await;
    assert_eq!((rows(&app, ada.id).await, rows(&app, bo.id).await), (0, 1));
}

async fn kinds(app: &TestApp, account_id: i64) -> Vec<String> {
    let rows = app.store.notifications_for(account_id).await.unwrap();
    rows.into_iter().map(|n| n.kind.to_string()).collect()
}

async fn rows(app: &TestApp, account_id: i64) -> usize {
    app.store.refresh_log_for(account_id).await.unwrap().len()
}
