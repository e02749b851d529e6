//! The storage layer on each backend: the rules the rest of the program relies on.

use crate::backend_tests;
use crate::support::t0;
use chrono::{DateTime, Duration, Utc};
use test_databases::{Backend, TestDatabase};
use tokenkeeper::domain::{
    AccessToken, AccountStatus, EmailAddress, ExpiryPolicy, LinkedAccount, MemberId, RefreshToken,
    TokenSet, UserId,
};
use tokenkeeper::store::{self, Lease, RefreshWrite, Store};

backend_tests!(
    migrating_twice_is_harmless,
    an_account_reads_back_exactly,
    relinking_replaces_the_same_row,
    expiration_cannot_be_null,
    due_accounts_are_claimed_once_oldest_first,
    a_stale_claim_cannot_overwrite_newer_tokens,
    a_slot_runs_once,
    a_damaged_row_costs_only_itself_in_a_claim,
    the_longest_user_id_is_stored_whole,
);

pub async fn open(backend: Backend) -> Option<(TestDatabase, std::sync::Arc<dyn Store>)> {
    let db = TestDatabase::create(backend).await?;
    let store = store::connect(&db.url, crate::support::test_cipher())
        .await
        .expect("database opens");
    store.migrate().await.expect("migrations apply");
    Some((db, store))
}

pub fn linked(user: &str, at: DateTime<Utc>, refresh: bool) -> LinkedAccount {
    LinkedAccount::new(
        UserId::parse(user).unwrap(),
        MemberId::parse(&format!("m-{user}")).unwrap(),
        EmailAddress::parse(&format!("{user}@example.com")).unwrap(),
        Some(format!("Name {user}")),
        TokenSet {
            access_token: AccessToken::new(format!("access-{user}-{}", at.timestamp())),
            token_expires_at: at + Duration::days(60),
            refresh_token: refresh.then(|| RefreshToken::new(format!("refresh-{user}"))),
            refresh_token_expires_at: refresh.then(|| at + Duration::days(365)),
            scope: "openid profile".into(),
        },
        at,
        &ExpiryPolicy::default(),
    )
}

async fn migrating_twice_is_harmless(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store.migrate().await.unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 0);
}

async fn an_account_reads_back_exactly(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let new = linked("ada", t0(), true);
    let saved = store.save_linked_account(&new).await.unwrap();
    let read = store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &UserId::parse("ada").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.id, saved.id);
    assert_eq!(read.member_id.as_str(), "m-ada");
    assert_eq!(read.email.as_str(), "ada@example.com");
    assert_eq!(read.name.as_deref(), Some("Name ada"));
    assert_eq!(read.token, new.tokens().access_token);
    assert_eq!(read.token_expires_at, t0() + Duration::days(60));
    assert_eq!(read.refresh_token, new.tokens().refresh_token);
    assert_eq!(
        read.refresh_token_expires_at,
        Some(t0() + Duration::days(365))
    );
    assert_eq!(read.expiration, t0() + Duration::days(50));
    assert_eq!(read.status, AccountStatus::Active);
    assert_eq!(read.linked_at, t0());
    assert_eq!(read.scope, "openid profile");
    assert_eq!(read.version, 1);
    assert!(store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &UserId::parse("nobody").unwrap()
        )
        .await
        .unwrap()
        .is_none());
    let without = store
        .save_linked_account(&linked("bo", t0(), false))
        .await
        .unwrap();
    assert!(without.refresh_token.is_none() && without.refresh_token_expires_at.is_none());
    let page = store.list_accounts(0, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    let rest = store.list_accounts(page[0].id, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
}

async fn relinking_replaces_the_same_row(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let first = store
        .save_linked_account(&linked("ada", t0(), true))
        .await
        .unwrap();
    let later = t0() + Duration::days(5);
    let second = store
        .save_linked_account(&linked("ada", later, false))
        .await
        .unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(second.version, first.version + 1);
    assert_eq!(second.linked_at, later);
    assert!(second.refresh_token.is_none());
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn expiration_cannot_be_null(backend: Backend) {
    let Some((db, _store)) = open(backend).await else {
        return;
    };
    let insert =
        "INSERT INTO social_network (user_id, member_id, email, token, scope, token_expires_at, \
                  expiration, linked_at, created_at, updated_at) \
                  VALUES ('u', 'm', 'u@example.com', 't', '', '2026-03-02 08:00:00', NULL, \
                  '2026-03-02 08:00:00', '2026-03-02 08:00:00', '2026-03-02 08:00:00')";
    let refused = crate::support::raw_sql::execute(&db.url, insert).await;
    let err = refused.expect_err("a row without expiration was stored");
    assert!(err.to_string().to_lowercase().contains("null"), "{err}");
}

fn lease(holder: &str, now: DateTime<Utc>) -> Lease {
    Lease {
        holder: holder.into(),
        now,
        until: now + Duration::minutes(10),
    }
}

async fn due_accounts_are_claimed_once_oldest_first(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    // Expirations a few milliseconds apart must still order and compare correctly.
    for (i, user) in ["c", "a", "b"].iter().enumerate() {
        let at = t0() + Duration::milliseconds([7, 1, 3][i]);
        store
            .save_linked_account(&linked(user, at, true))
            .await
            .unwrap();
    }
    store
        .save_linked_account(&linked("later", t0() + Duration::days(1), true))
        .await
        .unwrap();
    let due_at = t0() + Duration::days(50) + Duration::milliseconds(5);
    let now = Utc::now();
    let first = store
        .claim_due(due_at, &lease("p1", now), 10)
        .await
        .unwrap()
        .accounts;
    let users: Vec<_> = first
        .iter()
        .map(|a| a.user_id.as_str().to_owned())
        .collect();
    assert_eq!(users, ["a", "b"]);
    assert!(first.iter().all(|a| a.version == 2));
    // Held by p1: nobody else gets them while the lease lasts.
    assert!(store
        .claim_due(due_at, &lease("p2", now), 10)
        .await
        .unwrap()
        .is_empty());
    // After the lease, they can be taken over.
    let after = now + Duration::minutes(11);
    assert_eq!(
        store
            .claim_due(due_at, &lease("p2", after), 10)
            .await
            .unwrap()
            .accounts
            .len(),
        2
    );
    // Paging the same due set without claiming.
    let listed = store
        .list_due(due_at + Duration::days(2), None, 2)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let next = store
        .list_due(
            due_at + Duration::days(2),
            Some((listed[1].expiration, listed[1].id)),
            10,
        )
        .await
        .unwrap();
    assert_eq!(next.len(), 2);
}

async fn a_stale_claim_cannot_overwrite_newer_tokens(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .save_linked_account(&linked("ada", t0(), true))
        .await
        .unwrap();
    let due_at = t0() + Duration::days(50);
    let now = Utc::now();
    let stale = store
        .claim_due(due_at, &lease("p1", now), 1)
        .await
        .unwrap()
        .accounts
        .remove(0);
    let fresh = store
        .claim_due(due_at, &lease("p2", now + Duration::minutes(11)), 1)
        .await
        .unwrap()
        .accounts
        .remove(0);
    let write = |token: &str| RefreshWrite::Refreshed {
        tokens: TokenSet {
            access_token: AccessToken::new(token),
            token_expires_at: due_at + Duration::days(60),
            refresh_token: Some(RefreshToken::new("refresh-ada")),
            refresh_token_expires_at: Some(t0() + Duration::days(365)),
            scope: String::new(),
        },
        expiration: due_at + Duration::days(50),
        at: due_at,
    };
    assert!(store
        .complete_refresh(&fresh, &write("newer"), &[])
        .await
        .unwrap());
    assert!(!store
        .complete_refresh(&stale, &write("older"), &[])
        .await
        .unwrap());
    let now_stored = store.account_by_id(fresh.id).await.unwrap().unwrap();
    assert_eq!(now_stored.token.expose(), "newer");
    // An empty scope in the response keeps the one we had.
    assert_eq!(now_stored.scope, "openid profile");
}

async fn a_slot_runs_once(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let slot = t0();
    let first = store.start_run(Some(slot), t0(), t0()).await.unwrap();
    assert!(first.is_some());
    assert_eq!(store.start_run(Some(slot), t0(), t0()).await.unwrap(), None);
    // Manual runs have no slot and never conflict.
    assert!(store.start_run(None, t0(), t0()).await.unwrap().is_some());
    assert!(store.start_run(None, t0(), t0()).await.unwrap().is_some());
    assert_eq!(store.latest_slot().await.unwrap(), Some(slot));
}

/// A row edited by hand into something the domain refuses is left out of a claim's accounts
/// and reported apart (and kept claimed, so the same sweep does not meet it again); the rest
/// of the batch goes on.
async fn a_damaged_row_costs_only_itself_in_a_claim(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    for user in ["a", "b", "c"] {
        store
            .save_linked_account(&linked(user, t0(), true))
            .await
            .unwrap();
    }
    let damaged = "UPDATE social_network SET email = 'not an address' WHERE user_id = 'b'";
    assert_eq!(
        crate::support::raw_sql::execute(&db.url, damaged)
            .await
            .unwrap(),
        1
    );
    let due_at = t0() + Duration::days(50);
    let now = Utc::now();
    let claimed = store
        .claim_due(due_at, &lease("p1", now), 10)
        .await
        .expect("one damaged row does not fail the batch");
    let users: Vec<_> = claimed
        .accounts
        .iter()
        .map(|a| a.user_id.as_str())
        .collect();
    assert_eq!(users, ["a", "c"]);
    assert_eq!(claimed.unreadable.len(), 1, "{:?}", claimed.unreadable);
    assert!(
        claimed.unreadable[0].to_string().contains("social_network"),
        "{}",
        claimed.unreadable[0]
    );
    let dry_run = store.list_due(due_at, None, 10).await.unwrap();
    assert_eq!(dry_run.len(), 2);
    assert!(store
        .claim_due(due_at, &lease("p1", now), 10)
        .await
        .unwrap()
        .is_empty());
}

/// A user id is up to 255 characters, not bytes (as the OpenAPI document's `maxLength`
/// counts): 255 four-byte characters are 1,020 bytes, the worst a user id can be, which
/// every backend's column and unique key must hold and find again.
async fn the_longest_user_id_is_stored_whole(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let longest = "\u{1f511}".repeat(255);
    assert_eq!(longest.len(), 1020);
    let user = UserId::parse(&longest).unwrap();
    let tokens = linked("ada", t0(), true).tokens().clone();
    let account = LinkedAccount::new(
        user.clone(),
        MemberId::parse("m-longest").unwrap(),
        EmailAddress::parse("longest@example.com").unwrap(),
        None,
        tokens,
        t0(),
        &ExpiryPolicy::default(),
    );
    let saved = store.save_linked_account(&account).await.unwrap();
    let read = store
        .account_by_user(tokenkeeper::domain::ProviderName::linkedin_ref(), &user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.id, saved.id);
    assert_eq!(read.user_id.as_str(), longest);
}
