//! The enums the store writes keep the names every existing database holds, on each backend:
//! written through the store, they read back as the same text past it, and as the same values
//! through it. The expected names are spelled out here, not taken from the enums, so that a
//! renamed variant fails this test instead of silently changing what is stored.

use crate::backend_tests;
use crate::storage::rules::{linked, open};
use crate::support::raw_sql;
use crate::support::t0;
use chrono::Duration;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{
    NewNotification, NotificationKind, NotificationStatus, RefreshOutcome, SweepOutcome,
};
use tokenkeeper::store::{ClaimedNotification, Lease, RefreshLogEntry, RefreshWrite, SweepCounts};

backend_tests!(
    refresh_outcomes_are_stored_by_their_names,
    sweep_outcomes_are_stored_by_their_names,
    notification_kinds_and_statuses_are_stored_by_their_names,
);

fn lease(holder: &str) -> Lease {
    let now = t0() + Duration::days(1);
    Lease {
        holder: holder.into(),
        now,
        until: now + Duration::minutes(10),
    }
}

async fn texts(db: &TestDatabase, sql: &str) -> Vec<String> {
    let rows: Vec<(String,)> = raw_sql::rows(&db.url, sql).await;
    rows.into_iter().map(|(text,)| text).collect()
}

async fn refresh_outcomes_are_stored_by_their_names(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    store
        .save_linked_account(&linked("ada", t0(), true))
        .await
        .unwrap();
    let claimed = store
        .claim_due(t0() + Duration::days(365), &lease("sweep"), 10)
        .await
        .unwrap()
        .accounts;
    let log: Vec<RefreshLogEntry> = RefreshOutcome::ALL
        .iter()
        .copied()
        .map(|outcome| RefreshLogEntry {
            account_id: claimed[0].id,
            run_id: None,
            attempted_at: t0(),
            duration_ms: 1,
            outcome,
            http_status: None,
            error_code: None,
            attempt: 1,
        })
        .collect();
    store
        .complete_refresh(&claimed[0], &RefreshWrite::Release, &log)
        .await
        .unwrap();

    assert_eq!(
        texts(&db, "SELECT outcome FROM refresh_log ORDER BY id").await,
        [
            "refreshed",
            "transient",
            "permanent",
            "misconfiguration",
            "rejected",
            "no_refresh_token",
            "access_token_works",
            "access_token_rejected",
        ]
    );
    let read: Vec<_> = store
        .refresh_log_for(claimed[0].id)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.outcome)
        .collect();
    assert_eq!(read, RefreshOutcome::ALL);
}

async fn sweep_outcomes_are_stored_by_their_names(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    for &outcome in SweepOutcome::ALL {
        let run = store.start_run(None, t0(), t0()).await.unwrap().unwrap();
        // A run is recorded as running until it finishes: that name comes from the SQL.
        if outcome != SweepOutcome::Running {
            store
                .finish_run(run, t0(), &SweepCounts::default(), outcome, None)
                .await
                .unwrap();
        }
    }

    assert_eq!(
        texts(&db, "SELECT outcome FROM sweep_runs ORDER BY id").await,
        [
            "running",
            "completed",
            "degraded",
            "failed",
            "interrupted",
            "slot_taken",
            "dry_run",
        ]
    );
    let mut read: Vec<_> = store
        .recent_runs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.outcome)
        .collect();
    read.reverse();
    assert_eq!(read, SweepOutcome::ALL);
}

async fn notification_kinds_and_statuses_are_stored_by_their_names(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let ada = store
        .save_linked_account(&linked("ada", t0(), true))
        .await
        .unwrap();
    let notifications: Vec<_> = NotificationKind::ALL
        .iter()
        .copied()
        .map(|kind| NewNotification {
            account_id: ada.id,
            kind,
            episode: NewNotification::episode_of(ada.linked_at),
            send_after: t0(),
            deadline: t0() + Duration::days(60),
        })
        .collect();
    assert_eq!(
        store.add_notifications(&notifications, t0()).await.unwrap(),
        7
    );
    let claimed = store
        .claim_notifications(&lease("worker"), 10)
        .await
        .unwrap();
    let ids: Vec<i64> = claimed.iter().map(ClaimedNotification::id).collect();
    assert!(store
        .mark_sent(ids[0], "worker", "<m@x>", t0())
        .await
        .unwrap());
    for (id, status) in [
        (ids[1], NotificationStatus::Failed),
        (ids[2], NotificationStatus::Cancelled),
    ] {
        assert!(store
            .mark_failed(id, "worker", "given up", status)
            .await
            .unwrap());
    }

    let stored: Vec<(String, String)> = raw_sql::rows(
        &db.url,
        "SELECT kind, status FROM notifications ORDER BY id",
    )
    .await;
    let expected = [
        ("reconnect_required", "sent"),
        ("reconnect_due", "failed"),
        ("refresh_failing", "cancelled"),
        ("expiry_reminder", "pending"),
        ("refresh_token_ending_30", "pending"),
        ("refresh_token_ending_7", "pending"),
        ("refresh_token_ending_1", "pending"),
    ];
    assert_eq!(
        stored,
        expected.map(|(kind, status)| (kind.to_owned(), status.to_owned()))
    );
    let read: Vec<_> = store
        .notifications_for(ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind, n.status))
        .collect();
    use NotificationStatus::{Cancelled, Failed, Pending, Sent};
    let statuses = [Sent, Failed, Cancelled, Pending, Pending, Pending, Pending];
    assert_eq!(
        read,
        NotificationKind::ALL
            .iter()
            .copied()
            .zip(statuses)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        store.notification_counts().await.unwrap(),
        [(Cancelled, 1), (Failed, 1), (Pending, 4), (Sent, 1)]
    );
}
