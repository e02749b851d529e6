//! The connect flow's storage on each backend: attempts bound to a browser, links that
//! complete once even when two completions race, the member kept inside the write, and the
//! purge by expiry.

use crate::backend_tests;
use crate::support::t0;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::domain::{
    AccessToken, EmailAddress, ExpiryPolicy, LinkedAccount, MemberId, TokenSet, UserId,
};
use tokenkeeper::store::{self, AttemptLookup, ConnectAttempt, ConnectOutcome, LinkUse, Store};

backend_tests!(
    an_attempt_is_taken_once_and_only_by_its_browser,
    a_link_completes_once_even_when_two_completions_race,
    an_account_keeps_its_member_unless_the_link_allows_a_change,
    the_purge_removes_only_expired_rows,
);

async fn open(backend: Backend) -> Option<(TestDatabase, Arc<dyn Store>)> {
    let db = TestDatabase::create(backend).await?;
    let store = store::connect(&db.url, crate::support::test_cipher())
        .await
        .expect("database opens");
    store.migrate().await.expect("migrations apply");
    Some((db, store))
}

fn link(hash: &str, expires_at: DateTime<Utc>) -> LinkUse {
    LinkUse {
        link_hash: hash.into(),
        expires_at,
        allow_member_change: false,
    }
}

fn attempt(state: &str, browser: &str, expires_at: DateTime<Utc>) -> ConnectAttempt {
    ConnectAttempt {
        state_hash: state.into(),
        browser_hash: browser.into(),
        provider: tokenkeeper::domain::ProviderName::linkedin(),
        pkce_verifier: None,
        link: link(&format!("link-{state}"), expires_at),
        user_id: UserId::parse("ada").unwrap(),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        return_to: Some("https://app.example.com/x".into()),
        created_at: t0(),
        expires_at,
    }
}

fn linked(user: &str, member: &str, token: &str) -> LinkedAccount {
    LinkedAccount::new(
        UserId::parse(user).unwrap(),
        MemberId::parse(member).unwrap(),
        EmailAddress::parse(&format!("{user}@example.com")).unwrap(),
        None,
        TokenSet {
            access_token: AccessToken::new(token.to_owned()),
            token_expires_at: t0() + Duration::days(60),
            refresh_token: None,
            refresh_token_expires_at: None,
            scope: "openid profile".into(),
        },
        t0(),
        &ExpiryPolicy::default(),
    )
}

async fn an_attempt_is_taken_once_and_only_by_its_browser(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let expires = t0() + Duration::minutes(15);
    store
        .save_connect_attempt(&attempt("s1", "b1", expires))
        .await
        .unwrap();
    // Another browser, or none, is told so and leaves the attempt in place.
    for browser in [Some("b2"), None] {
        assert_eq!(
            store
                .take_connect_attempt("s1", browser, t0())
                .await
                .unwrap(),
            AttemptLookup::OtherBrowser(UserId::parse("ada").unwrap())
        );
    }
    assert_eq!(store.count_connect_attempts().await.unwrap(), 1);
    assert_eq!(
        store
            .take_connect_attempt("s1", Some("b1"), t0())
            .await
            .unwrap(),
        AttemptLookup::Taken(attempt("s1", "b1", expires))
    );
    assert_eq!(
        store
            .take_connect_attempt("s1", Some("b1"), t0())
            .await
            .unwrap(),
        AttemptLookup::Unknown
    );

    // An expired attempt completes in no browser.
    store
        .save_connect_attempt(&attempt("s2", "b1", expires))
        .await
        .unwrap();
    let late = expires + Duration::minutes(1);
    for browser in [Some("b2"), Some("b1")] {
        assert_eq!(
            store
                .take_connect_attempt("s2", browser, late)
                .await
                .unwrap(),
            AttemptLookup::Unknown
        );
    }
}

async fn a_link_completes_once_even_when_two_completions_race(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let the_link = link("shared-link", t0() + Duration::minutes(15));
    for round in 0..5 {
        let user = format!("racer-{round}");
        let first = linked(&user, "m-1", "token-first");
        let second = linked(&user, "m-1", "token-second");
        let the_link = LinkUse {
            link_hash: format!("{}-{round}", the_link.link_hash),
            ..the_link.clone()
        };
        let (a, b) = tokio::join!(
            store.complete_connect(&first, &the_link, t0()),
            store.complete_connect(&second, &the_link, t0())
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        let linked: Vec<_> = outcomes
            .iter()
            .filter_map(|o| match o {
                ConnectOutcome::Linked(account) => Some(account.token.expose().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(linked.len(), 1, "{outcomes:?}");
        assert!(outcomes
            .iter()
            .any(|o| matches!(o, ConnectOutcome::LinkAlreadyUsed)));
        // The stored tokens are the winner's, untouched by the loser.
        let stored = store
            .account_by_user(
                tokenkeeper::domain::ProviderName::linkedin_ref(),
                &UserId::parse(&user).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.token.expose(), linked[0]);
        assert!(store.connect_link_used(&the_link.link_hash).await.unwrap());
    }
    // Used sequentially, the same.
    assert!(matches!(
        store
            .complete_connect(
                &linked("racer-0", "m-1", "token-third"),
                &link("shared-link-0", t0() + Duration::minutes(15)),
                t0()
            )
            .await
            .unwrap(),
        ConnectOutcome::LinkAlreadyUsed
    ));
}

async fn an_account_keeps_its_member_unless_the_link_allows_a_change(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let expires = t0() + Duration::minutes(15);
    let ConnectOutcome::Linked(first) = store
        .complete_connect(&linked("ada", "m-ada", "t1"), &link("l1", expires), t0())
        .await
        .unwrap()
    else {
        panic!("a new account links");
    };
    // Another member: refused, nothing written, and the link not used up.
    let refused = store
        .complete_connect(&linked("ada", "m-eve", "t2"), &link("l2", expires), t0())
        .await
        .unwrap();
    assert!(
        matches!(refused, ConnectOutcome::MemberChanged),
        "{refused:?}"
    );
    let kept = store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &first.user_id,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.member_id.as_str(), "m-ada");
    assert_eq!(kept.token.expose(), "t1");
    assert_eq!(kept.version, first.version);
    assert!(!store.connect_link_used("l2").await.unwrap());

    // The same member again: fine.
    assert!(matches!(
        store
            .complete_connect(&linked("ada", "m-ada", "t3"), &link("l2", expires), t0())
            .await
            .unwrap(),
        ConnectOutcome::Linked(_)
    ));
    // A link that allows the change replaces the member.
    let allowing = LinkUse {
        allow_member_change: true,
        ..link("l3", expires)
    };
    let ConnectOutcome::Linked(changed) = store
        .complete_connect(&linked("ada", "m-eve", "t4"), &allowing, t0())
        .await
        .unwrap()
    else {
        panic!("the change was allowed");
    };
    assert_eq!(changed.member_id.as_str(), "m-eve");
    assert_eq!(changed.id, first.id);
}

async fn the_purge_removes_only_expired_rows(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let now = t0() + Duration::hours(1);
    for (state, expires) in [
        ("old-1", t0()),
        ("old-2", now - Duration::seconds(1)),
        ("open", now + Duration::minutes(5)),
    ] {
        store
            .save_connect_attempt(&attempt(state, "b", expires))
            .await
            .unwrap();
    }
    for (hash, expires) in [
        ("used-old", now - Duration::days(1)),
        ("used-live", now + Duration::days(60)),
    ] {
        store
            .complete_connect(&linked(hash, "m", "t"), &link(hash, expires), t0())
            .await
            .unwrap();
    }
    let purged = store.purge_expired_connect_state(now).await.unwrap();
    assert_eq!((purged.attempts, purged.used_links), (2, 1));
    assert_eq!(store.count_connect_attempts().await.unwrap(), 1);
    assert!(matches!(
        store
            .take_connect_attempt("open", Some("b"), now)
            .await
            .unwrap(),
        AttemptLookup::Taken(_)
    ));
    assert!(!store.connect_link_used("used-old").await.unwrap());
    assert!(store.connect_link_used("used-live").await.unwrap());
    let again = store.purge_expired_connect_state(now).await.unwrap();
    assert_eq!((again.attempts, again.used_links), (0, 0));
}
