//! The dashboard's queries on each backend: counts by status, search and paging without
//! tokens, refresh outcomes per day, failed deliveries and their retry.

use crate::backend_tests;
use crate::storage::rules::{linked, open};
use crate::support::t0;
use chrono::Duration;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{
    AccountStatus, NewNotification, NotificationKind, NotificationStatus, RefreshOutcome,
};
use tokenkeeper::store::{AccountSearch, Lease, RefreshLogEntry, RefreshWrite};

backend_tests!(
    accounts_are_counted_by_status,
    accounts_are_found_by_user_id_or_email_and_paged,
    refresh_outcomes_are_counted_per_day_from_the_start,
    a_failed_delivery_is_listed_and_queued_again_once,
);

fn lease(holder: &str) -> Lease {
    Lease {
        holder: holder.into(),
        now: t0(),
        until: t0() + Duration::minutes(5),
    }
}

async fn accounts_are_counted_by_status(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    for user in ["a", "b", "c"] {
        store
            .save_linked_account(&linked(user, t0(), true))
            .await
            .unwrap();
    }
    let account = store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &tokenkeeper::domain::UserId::parse("c").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let tokenkeeper::store::OneClaim::Claimed(claimed) = store
        .claim_one(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &account.user_id,
            &lease("t"),
        )
        .await
        .unwrap()
    else {
        panic!("claimed");
    };
    let write = RefreshWrite::NeedsReconnect {
        error: "invalid_grant".into(),
        at: t0(),
        notifications: vec![],
    };
    assert!(store.complete_refresh(&claimed, &write, &[]).await.unwrap());
    let mut counts = store.accounts_by_status().await.unwrap();
    counts.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        counts,
        vec![
            (AccountStatus::Active, 2),
            (AccountStatus::NeedsReconnect, 1)
        ]
    );
}

async fn accounts_are_found_by_user_id_or_email_and_paged(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    for user in ["ann", "bob", "cy", "dee"] {
        store
            .save_linked_account(&linked(user, t0(), user != "cy"))
            .await
            .unwrap();
    }
    let users = |found: Vec<tokenkeeper::store::AccountSummary>| {
        found
            .into_iter()
            .map(|a| a.user_id.to_string())
            .collect::<Vec<_>>()
    };
    let search = |query: Option<&str>, after_id: i64, limit: i64| AccountSearch {
        query: query.map(str::to_owned),
        status: None,
        after_id,
        limit,
    };
    assert_eq!(
        users(
            store
                .search_accounts(&search(Some("bob"), 0, 10))
                .await
                .unwrap()
        ),
        ["bob"]
    );
    // Email addresses are found whatever their case.
    assert_eq!(
        users(
            store
                .search_accounts(&search(Some("DEE@Example.com"), 0, 10))
                .await
                .unwrap()
        ),
        ["dee"]
    );
    assert!(store
        .search_accounts(&search(Some("bo"), 0, 10))
        .await
        .unwrap()
        .is_empty());
    let first = store.search_accounts(&search(None, 0, 3)).await.unwrap();
    assert_eq!(users(first.clone()), ["ann", "bob", "cy"]);
    let rest = store
        .search_accounts(&search(None, first.last().unwrap().id, 3))
        .await
        .unwrap();
    assert_eq!(users(rest), ["dee"]);
    let cy = store
        .search_accounts(&search(Some("cy"), 0, 10))
        .await
        .unwrap();
    assert!(!cy[0].has_refresh_token);
    let failing = AccountSearch {
        status: Some(AccountStatus::RefreshFailing),
        ..search(None, 0, 10)
    };
    assert!(store.search_accounts(&failing).await.unwrap().is_empty());
    let active = AccountSearch {
        status: Some(AccountStatus::Active),
        ..search(Some("ann"), 0, 10)
    };
    assert_eq!(
        users(store.search_accounts(&active).await.unwrap()),
        ["ann"]
    );
}

async fn refresh_outcomes_are_counted_per_day_from_the_start(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let account = store
        .save_linked_account(&linked("a", t0(), true))
        .await
        .unwrap();
    let entry = |at, outcome| RefreshLogEntry {
        account_id: account.id,
        run_id: None,
        attempted_at: at,
        duration_ms: 5,
        outcome,
        http_status: None,
        error_code: None,
        attempt: 1,
    };
    let start = t0() - Duration::hours(8); // midnight
    let log = [
        // Before the start: not counted.
        entry(start - Duration::seconds(1), RefreshOutcome::Refreshed),
        entry(start, RefreshOutcome::Refreshed),
        entry(start + Duration::hours(23), RefreshOutcome::Refreshed),
        entry(start + Duration::hours(24), RefreshOutcome::Transient),
        entry(
            start + Duration::days(2) + Duration::hours(1),
            RefreshOutcome::Transient,
        ),
        entry(
            start + Duration::days(2) + Duration::hours(2),
            RefreshOutcome::Transient,
        ),
    ];
    let tokenkeeper::store::OneClaim::Claimed(claimed) = store
        .claim_one(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &account.user_id,
            &lease("t"),
        )
        .await
        .unwrap()
    else {
        panic!("claimed");
    };
    store
        .complete_refresh(&claimed, &RefreshWrite::Release, &log)
        .await
        .unwrap();
    let mut counts: Vec<_> = store
        .refresh_outcomes_by_day(start)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.day, c.outcome, c.attempts))
        .collect();
    counts.sort_by_key(|(day, outcome, _)| (*day, outcome.as_str()));
    assert_eq!(
        counts,
        vec![
            (0, RefreshOutcome::Refreshed, 2),
            (1, RefreshOutcome::Transient, 1),
            (2, RefreshOutcome::Transient, 2),
        ]
    );
}

async fn a_failed_delivery_is_listed_and_queued_again_once(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let account = store
        .save_linked_account(&linked("a", t0(), true))
        .await
        .unwrap();
    let email = NewNotification {
        account_id: account.id,
        kind: NotificationKind::ReconnectRequired,
        episode: NewNotification::episode_of(account.linked_at),
        send_after: t0(),
        deadline: t0() + Duration::days(10),
    };
    store.add_notifications(&[email], t0()).await.unwrap();
    let claimed = store
        .claim_notifications(&lease("worker"), 10)
        .await
        .unwrap();
    let id = claimed[0].id();
    assert!(store
        .mark_failed(
            id,
            "worker",
            "550 mailbox unavailable",
            NotificationStatus::Failed
        )
        .await
        .unwrap());
    let failed = store.failed_deliveries(10).await.unwrap();
    assert_eq!(failed.len(), 1);
    let shown = (
        failed[0].id,
        failed[0].account_id,
        failed[0].user_id.as_str(),
    );
    assert_eq!(shown, (id, account.id, "a"));
    assert_eq!(failed[0].kind, "reconnect_required");
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("550 mailbox unavailable")
    );

    let later = t0() + Duration::hours(1);
    assert!(store.retry_delivery(id, later).await.unwrap());
    assert!(
        !store.retry_delivery(id, later).await.unwrap(),
        "only a failed row is retried"
    );
    assert!(store.failed_deliveries(10).await.unwrap().is_empty());
    // Due again for the worker, with its attempts reset.
    let again = store
        .claim_notifications(
            &Lease {
                holder: "worker-2".into(),
                now: later,
                until: later + Duration::minutes(5),
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let tokenkeeper::store::ClaimedNotification::Email(email) = &again[0] else {
        panic!("an email");
    };
    assert_eq!((email.id, email.attempts), (id, 0));
}
