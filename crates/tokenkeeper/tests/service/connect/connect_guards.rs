//! The connect flow against someone who means harm: a flow finishes only in the browser that
//! started it, a link completes once, an account keeps its LinkedIn member, and what the flow
//! leaves behind is purged in the background, not by the callback.

use crate::backend_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::metric_values::{metric_values, only};
use crate::support::{location, new_browser, spawn, spawn_app, t0, Setup, TestApp, API_KEY};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault, Member};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use test_databases::Backend;
use tokenkeeper::domain::{EmailAddress, UserId};
use tokenkeeper::store::{ConnectAttempt, LinkUse};
use url::Url;

backend_tests!(
    a_callback_in_another_browser_is_refused_and_stores_nothing,
    an_attackers_attempt_cannot_be_finished_in_a_victims_browser,
    two_tabs_of_one_browser_each_finish_their_own_attempt,
    opening_a_link_does_not_use_it_up,
    a_link_completes_once,
    two_links_issued_in_one_second_each_complete_once,
    two_attempts_racing_through_one_link_complete_once,
    a_different_member_is_refused_by_default,
    the_api_may_allow_a_member_change,
    the_cli_may_allow_a_member_change,
    refusals_are_logged_without_secrets,
    the_callback_no_longer_purges,
    a_backlog_past_one_purge_batch_is_purged_whole,
    expired_connect_state_is_purged_in_the_background,
    a_tab_opened_just_before_its_link_expired_cannot_use_it_again_after_the_purge,
);

// SQLite has one writer: a sign-in in progress holds the whole database, not a row.
backend_tests!(only [Postgres, MySql]: the_purge_never_waits_for_a_sign_in_taking_its_attempt);

fn member(sub: &str) -> Member {
    Member {
        sub: sub.into(),
        name: format!("Member {sub}"),
        given_name: "Member".into(),
        family_name: sub.into(),
        email: Some(format!("{sub}@example.com")),
    }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

async fn get(browser: &reqwest::Client, url: Url) -> (StatusCode, String) {
    let response = browser.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// A connect link from the API with `allow_member_change` set.
async fn link_allowing_member_change(app: &TestApp, user_id: &str) -> Url {
    let response = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .bearer_auth(API_KEY)
        .json(&serde_json::json!({
            "user_id": user_id,
            "email": format!("{user_id}@example.com"),
            "allow_member_change": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    Url::parse(body["url"].as_str().unwrap()).unwrap()
}

async fn a_callback_in_another_browser_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-1", "u-1@example.com", None).await;
    let callback = app.consent(&link).await;

    // Replayed in another browser (with a cookie of its own), or in one without cookies.
    let other = new_browser();
    app.consent_in(
        &other,
        &app.connect_link("u-x", "x@example.com", None).await,
    )
    .await;
    let no_cookies = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for browser in [&other, &no_cookies] {
        let (status, page) = get(browser, callback.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            page.contains("Open the link in the browser you started in"),
            "{page}"
        );
    }
    assert_eq!(app.account_count().await, 0);
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 0);

    // The refusals did not use up the attempt: its own browser still finishes it.
    let (status, _) = get(&app.browser, callback).await;
    assert_eq!(status, StatusCode::OK);
    assert!(app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("u-1")
        )
        .await
        .unwrap()
        .is_some());
}

async fn an_attackers_attempt_cannot_be_finished_in_a_victims_browser(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let attacker = new_browser();
    let victim = new_browser();
    // The victim has a browser nonce of her own from connecting earlier.
    app.fake.controls().login_as(Some(member("victim")));
    let own = app.connect_link("victim-user", "v@example.com", None).await;
    let callback = app.consent_in(&victim, &own).await;
    assert_eq!(get(&victim, callback).await.0, StatusCode::OK);

    // The attacker starts a flow for his own user and stops at LinkedIn's page...
    let link = app.connect_link("attacker", "a@example.com", None).await;
    let to_linkedin = attacker.get(link).send().await.unwrap();
    let authorize = location(&to_linkedin);
    // ...whose URL he sends to the victim, who is signed in to LinkedIn and consents.
    let back = victim.get(authorize).send().await.unwrap();
    let (status, page) = get(&victim, location(&back)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("browser you started in"), "{page}");
    // The victim's LinkedIn is not stored under the attacker's user.
    assert!(app
        .store
        .account_by_user(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &user("attacker")
        )
        .await
        .unwrap()
        .is_none());
    assert_eq!(app.account_count().await, 1);
}

async fn two_tabs_of_one_browser_each_finish_their_own_attempt(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = app.connect_link("tab-1", "t1@example.com", None).await;
    let second = app.connect_link("tab-2", "t2@example.com", None).await;
    let first_callback = app.consent(&first).await;
    let second_callback = app.consent(&second).await;
    assert_eq!(get(&app.browser, second_callback).await.0, StatusCode::OK);
    assert_eq!(get(&app.browser, first_callback).await.0, StatusCode::OK);
    assert_eq!(app.account_count().await, 2);
}

async fn opening_a_link_does_not_use_it_up(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-2", "u-2@example.com", None).await;
    // A mail scanner opens the link, and even follows it to LinkedIn.
    let scanner = new_browser();
    let to_linkedin = scanner.get(link.clone()).send().await.unwrap();
    assert!(to_linkedin.status().is_redirection());
    let _ = scanner.get(location(&to_linkedin)).send().await.unwrap();
    // The member still connects with it.
    let callback = app.consent(&link).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
}

async fn a_link_completes_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-3", "u-3@example.com", None).await;
    let callback = app.consent(&link).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    let before = app.account("u-3").await;
    let authorizations = app.fake.controls().calls(Endpoint::Authorize);

    // Opened again, in the same browser or any other: refused at once.
    for browser in [&app.browser, &new_browser()] {
        let (status, page) = get(browser, link.clone()).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(page.contains("already been used"), "{page}");
    }
    assert_eq!(
        app.fake.controls().calls(Endpoint::Authorize),
        authorizations
    );
    let after = app.account("u-3").await;
    assert_eq!(after.version, before.version);
    assert_eq!(after.token.expose(), before.token.expose());
}

async fn two_links_issued_in_one_second_each_complete_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().login_as(Some(member("ada-member")));
    // The test's clock stands still: both links are issued in the same second, with the same
    // user, email and expiry, as a host app's integration test issues them.
    let first = app.connect_link("u-9", "u-9@example.com", None).await;
    let second = app.connect_link("u-9", "u-9@example.com", None).await;

    let callback = app.consent(&first).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    assert_eq!(app.account("u-9").await.version, 1);
    // At once, the user reconnects with the second link: it is a link of its own.
    let callback = app.consent(&second).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    assert_eq!(app.account("u-9").await.version, 2);

    // Each is still used up.
    for link in [first, second] {
        let (status, page) = get(&app.browser, link).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(page.contains("already been used"), "{page}");
    }
}

async fn two_attempts_racing_through_one_link_complete_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let link = app.connect_link("u-4", "u-4@example.com", None).await;
    // Three tabs open the same link before any finishes.
    let first = app.consent(&link).await;
    let second = app.consent(&link).await;
    let third = app.consent(&link).await;
    // LinkedIn is slow, so both callbacks are past every early check when they write.
    app.fake.controls().inject_fault(
        Endpoint::Token,
        Fault::Latency(std::time::Duration::from_millis(50)),
        Some(2),
    );
    let (a, b) = tokio::join!(
        get(&app.browser, first.clone()),
        get(&app.browser, second.clone())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::GONE], "{a:?} {b:?}");
    let refused = if a.0 == StatusCode::GONE { &a.1 } else { &b.1 };
    assert!(refused.contains("already been used"), "{refused}");
    assert_eq!(app.fake.controls().calls(Endpoint::Token), 2);
    let stored = app.account("u-4").await;
    assert_eq!(stored.version, 1, "the loser wrote nothing");
    assert_eq!(
        app.fake
            .controls()
            .member_of_access_token(stored.token.expose())
            .as_deref(),
        Some(stored.member_id.as_str())
    );

    // The third tab, finishing later, is refused as well; the link opens no more.
    assert_eq!(get(&app.browser, third).await.0, StatusCode::GONE);
    assert_eq!(app.account("u-4").await.version, 1);
    assert_eq!(get(&app.browser, link).await.0, StatusCode::GONE);
}

async fn a_different_member_is_refused_by_default(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().login_as(Some(member("ada-member")));
    let first = app.linked("u-5").await;

    // The member signs in to LinkedIn as someone else and reconnects.
    app.fake.controls().login_as(Some(member("eve-member")));
    let link = app.connect_link("u-5", "u-5@example.com", None).await;
    let callback = app.consent(&link).await;
    let (status, page) = get(&app.browser, callback).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("Sign in to LinkedIn as the connected account"),
        "{page}"
    );
    assert!(!page.contains("eve-member") && !page.contains("ada-member"));
    let kept = app.account("u-5").await;
    assert_eq!(kept.member_id.as_str(), "ada-member");
    assert_eq!(kept.token.expose(), first.token.expose());
    assert_eq!(kept.version, first.version);

    // Signed in as the right member, the same link still works.
    app.fake.controls().login_as(Some(member("ada-member")));
    let callback = app.consent(&link).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    assert_eq!(app.account("u-5").await.member_id.as_str(), "ada-member");
}

async fn the_api_may_allow_a_member_change(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().login_as(Some(member("ada-member")));
    let first = app.linked("u-6").await;
    app.clock.advance(Duration::seconds(1));
    app.fake.controls().login_as(Some(member("eve-member")));
    let link = link_allowing_member_change(&app, "u-6").await;
    assert!(link.as_str().contains("allow_member_change=1"));
    let callback = app.consent(&link).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    let changed = app.account("u-6").await;
    assert_eq!(changed.id, first.id);
    assert_eq!(changed.member_id.as_str(), "eve-member");

    // The permission is signed: it cannot be added to an ordinary link.
    app.fake.controls().login_as(Some(member("mallory")));
    let plain = app.connect_link("u-6", "u-6@example.com", None).await;
    let tampered = Url::parse(
        &plain
            .as_str()
            .replace("&sig=", "&allow_member_change=1&sig="),
    )
    .unwrap();
    let (status, page) = get(&app.browser, tampered).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("This link is not valid"), "{page}");
    assert_eq!(app.account("u-6").await.member_id.as_str(), "eve-member");
}

async fn the_cli_may_allow_a_member_change(backend: Backend) {
    use secrecy::ExposeSecret;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().login_as(Some(member("ada-member")));
    app.linked("u-7").await;
    app.clock.advance(Duration::seconds(1));
    app.fake.controls().login_as(Some(member("eve-member")));
    let cli_link = |allow: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
        command
            .args([
                "connect-link",
                "--user-id",
                "u-7",
                "--email",
                "u-7@example.com",
            ])
            .env_clear()
            .env("TOKENKEEPER_DATABASE_URL", app.config.database_url.expose())
            .env("TOKENKEEPER_HTTP__PUBLIC_URL", app.base.as_str())
            .env(
                "TOKENKEEPER_LINKEDIN__CLIENT_ID",
                &app.config.linkedin.client_id,
            )
            .env(
                "TOKENKEEPER_LINKEDIN__CLIENT_SECRET",
                app.config.linkedin.client_secret.expose_secret(),
            )
            .env(
                "TOKENKEEPER_CONNECT__SIGNING_KEY",
                app.config.connect.signing_key.expose_secret(),
            );
        if allow {
            command.arg("--allow-member-change");
        }
        let output = command.output().expect("the tokenkeeper binary runs");
        assert!(output.status.success(), "{output:?}");
        Url::parse(String::from_utf8(output.stdout).unwrap().trim()).unwrap()
    };

    let callback = app.consent(&cli_link(false)).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::CONFLICT);
    assert_eq!(app.account("u-7").await.member_id.as_str(), "ada-member");

    let callback = app.consent(&cli_link(true)).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    assert_eq!(app.account("u-7").await.member_id.as_str(), "eve-member");
}

backend_tests!(in_own_process: refusals_are_counted);
async fn refusals_are_counted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().login_as(Some(member("ada-member")));
    app.linked("u-8").await;
    app.clock.advance(Duration::seconds(1));
    app.fake.controls().login_as(Some(member("eve-member")));
    let link = app.connect_link("u-8", "u-8@example.com", None).await;
    let callback = app.consent(&link).await;
    get(&new_browser(), callback.clone()).await;
    get(&app.browser, callback).await;
    let metrics = metric_values(&app).await;
    assert_eq!(
        only(
            &metrics,
            &[
                "tokenkeeper_connect_refused_total",
                "tokenkeeper_accounts_linked_total"
            ]
        ),
        BTreeMap::from([
            ("tokenkeeper_accounts_linked_total".to_owned(), 1.0),
            (
                "tokenkeeper_connect_refused_total{reason=\"member_changed\"}".to_owned(),
                1.0
            ),
            (
                "tokenkeeper_connect_refused_total{reason=\"other_browser\"}".to_owned(),
                1.0
            ),
        ])
    );
}

async fn refusals_are_logged_without_secrets(backend: Backend) {
    let logs = LogCapture::start("info", LogFormat::Json);
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    let link = app.connect_link("u-10", "u-10@example.com", None).await;
    let callback = app.consent(&link).await;
    get(&new_browser(), callback.clone()).await;
    let logs = logs.text();
    let refusal = logs
        .lines()
        .find(|l| l.contains("connect flow refused"))
        .expect("the refusal is logged");
    assert!(
        refusal.contains("other_browser") && refusal.contains("u-10"),
        "{refusal}"
    );
    let params: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    for secret in [&params["state"], &params["code"]] {
        assert!(!logs.contains(secret.as_str()), "{secret} was logged");
    }
}

fn stale_attempt(state: &str, expires_at: chrono::DateTime<chrono::Utc>) -> ConnectAttempt {
    ConnectAttempt {
        state_hash: state.into(),
        browser_hash: "b".into(),
        provider: tokenkeeper::domain::ProviderName::linkedin(),
        pkce_verifier: None,
        link: LinkUse {
            link_hash: format!("link-{state}"),
            expires_at,
            allow_member_change: false,
        },
        user_id: user("stale"),
        email: EmailAddress::parse("stale@example.com").unwrap(),
        return_to: None,
        created_at: t0(),
        expires_at,
    }
}

async fn the_callback_no_longer_purges(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for state in ["stale-1", "stale-2"] {
        app.store
            .save_connect_attempt(&stale_attempt(state, t0() + Duration::minutes(1)))
            .await
            .unwrap();
    }
    app.clock.advance(Duration::days(3));
    // Unauthenticated callbacks, however many, cost one lookup each, never a sweep.
    for _ in 0..3 {
        let (status, _) = get(
            &new_browser(),
            app.url("/oauth/linkedin/callback?code=x&state=made-up"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 2);
    // The purge removes them.
    let purged = app
        .store
        .purge_expired_connect_state(app.clock_now())
        .await
        .unwrap();
    assert_eq!(purged.attempts, 2);
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
}

/// The purge deletes a thousand rows per statement, so no statement holds its locks long;
/// a backlog larger than that (a purge that was off for a while) still goes in one pass.
async fn a_backlog_past_one_purge_batch_is_purged_whole(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    const BACKLOG: usize = 1001;
    const WRITERS: usize = 8;
    let mut saving = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let store = app.store.clone();
        saving.spawn(async move {
            for n in (writer..BACKLOG).step_by(WRITERS) {
                let attempt = stale_attempt(&format!("stale-{n}"), t0() + Duration::minutes(1));
                store.save_connect_attempt(&attempt).await.unwrap();
            }
        });
    }
    while let Some(saved) = saving.join_next().await {
        saved.unwrap();
    }
    app.clock.advance(Duration::days(3));
    let purged = app
        .store
        .purge_expired_connect_state(app.clock_now())
        .await
        .unwrap();
    assert_eq!(purged.attempts, BACKLOG as u64);
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
}

async fn expired_connect_state_is_purged_in_the_background(backend: Backend) {
    let Some(app) = spawn(
        backend,
        Setup::default().var("CONNECT__PURGE_INTERVAL_MS", 20),
    )
    .await
    else {
        return;
    };
    app.store
        .save_connect_attempt(&stale_attempt("stale", t0() - Duration::minutes(1)))
        .await
        .unwrap();
    app.store
        .save_connect_attempt(&stale_attempt("open", t0() + Duration::hours(1)))
        .await
        .unwrap();
    // A link used long ago, past its expiry.
    let link = app.connect_link("u-9", "u-9@example.com", None).await;
    let callback = app.consent(&link).await;
    assert_eq!(get(&app.browser, callback).await.0, StatusCode::OK);
    let params: std::collections::HashMap<_, _> = link.query_pairs().into_owned().collect();
    let link_hash = used_link_hash(&params["sig"]);
    assert!(app.store.connect_link_used(&link_hash).await.unwrap());
    // Past the link's 15 minutes, its used-mark is no longer needed.
    app.clock.advance(Duration::minutes(20));

    // The purger inside the service reports its work only in the store: a bounded poll of
    // the store is the one way to see it done.
    let mut waited = 0;
    while app.store.connect_link_used(&link_hash).await.unwrap()
        || app.store.count_connect_attempts().await.unwrap() != 1
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
        assert!(waited < 500, "the purge never ran");
    }
    // The open attempt is still there.
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 1);
}

/// How a used link is recorded: the SHA-256 of its signature's bytes.
fn used_link_hash(sig: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An attempt may outlive its link by up to `connect.link_ttl_minutes`; the link's used-mark
/// must live as long, or purging it would let that attempt complete the link a second time.
async fn a_tab_opened_just_before_its_link_expired_cannot_use_it_again_after_the_purge(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.fake.controls().login_as(Some(member("ada-member")));
    let link = app.connect_link("u-11", "u-11@example.com", None).await;
    // Two tabs open the link a minute before it expires; one finishes at once.
    app.at(t0() + Duration::minutes(14));
    let late_tab = app.consent(&link).await;
    let first_tab = app.consent(&link).await;
    assert_eq!(get(&app.browser, first_tab).await.0, StatusCode::OK);
    // The link has expired and the purge has run; the other tab's attempt is still open.
    app.at(t0() + Duration::minutes(20));
    app.store
        .purge_expired_connect_state(app.clock_now())
        .await
        .unwrap();
    assert_eq!(get(&app.browser, late_tab).await.0, StatusCode::GONE);
}

/// A sign-in takes its attempt by locking the attempt's row and then deleting it. MariaDB's
/// purge once ranged over the expiry index into that attempt and waited for its row while
/// the sign-in waited for the index entry the purge held: InnoDB ended the sign-in as a
/// deadlock and the member saw an error page. The purge must not wait for such a row at all.
async fn the_purge_never_waits_for_a_sign_in_taking_its_attempt(backend: Backend) {
    use sqlx::Connection;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (state, expires_at) in [
        ("stale-1", t0() - Duration::minutes(2)),
        ("stale-2", t0() - Duration::minutes(1)),
        ("signing-in", t0() + Duration::minutes(10)),
        ("later", t0() + Duration::minutes(20)),
    ] {
        app.store
            .save_connect_attempt(&stale_attempt(state, expires_at))
            .await
            .unwrap();
    }
    let url = app.config.database_url.expose();
    // The sign-in's own statements, on a connection of the test's; the purge runs meanwhile.
    macro_rules! while_a_sign_in_holds_its_attempt {
        ($connection:ty) => {{
            let mut connection = <$connection>::connect(url).await.unwrap();
            let mut sign_in = connection.begin().await.unwrap();
            sqlx::query(
                "SELECT state_hash FROM connect_attempts WHERE state_hash = 'signing-in' FOR UPDATE",
            )
            .fetch_one(&mut *sign_in)
            .await
            .unwrap();
            // A bound on a failure, not a speed: a purge that waits does so until InnoDB's lock
            // time-out (50 seconds by default) or, on PostgreSQL, without end.
            let purged = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                app.store.purge_expired_connect_state(app.clock_now()),
            )
            .await
            .expect("the purge waited for the sign-in's attempt")
            .unwrap();
            assert_eq!(purged.attempts, 2);
            sqlx::query("DELETE FROM connect_attempts WHERE state_hash = 'signing-in'")
                .execute(&mut *sign_in)
                .await
                .expect("the sign-in took its attempt");
            sign_in.commit().await.unwrap();
        }};
    }
    match backend {
        Backend::Postgres => while_a_sign_in_holds_its_attempt!(sqlx::PgConnection),
        Backend::MySql => while_a_sign_in_holds_its_attempt!(sqlx::MySqlConnection),
        Backend::Sqlite => unreachable!("not run on SQLite"),
    }
    // Only the attempt nobody touched is left.
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 1);
}
