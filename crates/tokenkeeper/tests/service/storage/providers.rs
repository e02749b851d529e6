//! One account per user and provider, on each backend: a user's accounts with two providers
//! are two rows, each found, claimed, listed and deleted by its own provider, and each one's
//! tokens sealed for its own row.

use super::rules::{linked, open};
use crate::backend_tests;
use crate::support::t0;
use chrono::Duration;
use test_databases::Backend;
use tokenkeeper::domain::{ProviderName, UserId};
use tokenkeeper::store::{AccountFilter, Lease, OneClaim};

backend_tests!(
    a_user_has_one_account_per_provider,
    claims_and_deletions_touch_only_the_named_providers_account,
    lists_filter_by_provider,
);

fn x() -> ProviderName {
    ProviderName::parse("x").unwrap()
}

fn ada() -> UserId {
    UserId::parse("ada").unwrap()
}

async fn a_user_has_one_account_per_provider(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let on_linkedin = store
        .save_linked_account(&linked("ada", t0(), true))
        .await
        .unwrap();
    let on_x = store
        .save_linked_account(&linked("ada", t0() + Duration::hours(1), true).through(x()))
        .await
        .unwrap();
    assert_ne!(on_linkedin.id, on_x.id, "two providers, two rows");
    assert_eq!(on_x.provider, x());
    assert_eq!(store.count_accounts().await.unwrap(), 2);

    let read_x = store.account_by_user(&x(), &ada()).await.unwrap().unwrap();
    assert_eq!(read_x.id, on_x.id);
    assert_eq!(read_x.token, on_x.token, "x's token opens under x's row");
    let read_linkedin = store
        .account_by_user(ProviderName::linkedin_ref(), &ada())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_linkedin.id, on_linkedin.id);
    assert_ne!(read_linkedin.token, read_x.token);
    assert!(store
        .account_by_user(&ProviderName::parse("google").unwrap(), &ada())
        .await
        .unwrap()
        .is_none());

    // Linking x again replaces x's row, and only it.
    let relinked = store
        .save_linked_account(&linked("ada", t0() + Duration::hours(2), true).through(x()))
        .await
        .unwrap();
    assert_eq!(relinked.id, on_x.id);
    assert_eq!(store.count_accounts().await.unwrap(), 2);

    // The gathered read asks one provider at a time.
    let gathered = store.accounts_by_users(&x(), &[ada()]).await.unwrap();
    assert_eq!(gathered.len(), 1);
    assert_eq!(gathered[0].as_ref().unwrap().id, on_x.id);
}

async fn claims_and_deletions_touch_only_the_named_providers_account(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let on_linkedin = store
        .save_linked_account(&linked("ada", t0(), true))
        .await
        .unwrap();
    let on_x = store
        .save_linked_account(&linked("ada", t0(), true).through(x()))
        .await
        .unwrap();
    let lease = |holder: &str| Lease {
        holder: holder.into(),
        now: t0(),
        until: t0() + Duration::minutes(5),
    };
    let OneClaim::Claimed(claimed) = store.claim_one(&x(), &ada(), &lease("one")).await.unwrap()
    else {
        panic!("x's account is free")
    };
    assert_eq!(claimed.id, on_x.id);
    // LinkedIn's account of the same user is still free.
    assert!(matches!(
        store
            .claim_one(ProviderName::linkedin_ref(), &ada(), &lease("two"))
            .await
            .unwrap(),
        OneClaim::Claimed(account) if account.id == on_linkedin.id
    ));

    let deleted = store
        .delete_account(&x(), &ada(), t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.account_id, on_x.id);
    assert!(store.account_by_user(&x(), &ada()).await.unwrap().is_none());
    assert!(store
        .account_by_user(ProviderName::linkedin_ref(), &ada())
        .await
        .unwrap()
        .is_some());
}

async fn lists_filter_by_provider(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    for user in ["ada", "bob"] {
        store
            .save_linked_account(&linked(user, t0(), true))
            .await
            .unwrap();
    }
    store
        .save_linked_account(&linked("ada", t0(), true).through(x()))
        .await
        .unwrap();
    let list = |provider: Option<ProviderName>| {
        let store = store.clone();
        async move {
            store
                .list_account_summaries(&AccountFilter {
                    provider,
                    status: None,
                    due_before: None,
                    after_id: 0,
                    limit: 10,
                })
                .await
                .unwrap()
                .into_iter()
                .map(|a| format!("{}:{}", a.provider, a.user_id))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(None).await, ["linkedin:ada", "linkedin:bob", "x:ada"]);
    assert_eq!(list(Some(x())).await, ["x:ada"]);
    assert_eq!(
        list(Some(ProviderName::linkedin())).await,
        ["linkedin:ada", "linkedin:bob"]
    );
}
