//! One provider's trouble stays its own during a sweep: LinkedIn down (its circuit breaker
//! opens) or X refusing our client (`invalid_client`) stops only that network's accounts,
//! which are left untouched and due, while the other network's are refreshed in the same
//! sweep; the run's outcome names the network. A 429 from LinkedIn pauses only calls to
//! LinkedIn. The service runs with LinkedIn (the test's fake) and X (its fake) configured, on
//! every database, on stopped clocks.

use crate::backend_tests;
use crate::support::networks::{spawn_with_networks, NetworkedApp};
use crate::support::{t0, Setup};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::{Endpoint, FakeConfig, Fault, NetworkEndpoint, NetworkKind};
use test_databases::Backend;
use tokenkeeper::domain::{Account, AccountStatus};
use tokenkeeper::refresh::SweepOutcome;

backend_tests!(
    linkedin_down_leaves_its_accounts_due_and_x_is_refreshed,
    x_refusing_our_client_leaves_its_accounts_and_linkedin_is_refreshed,
    a_linkedin_429_does_not_hold_the_refreshes_of_x,
);

const LINKEDIN_ACCOUNTS: usize = 6;
const X_ACCOUNTS: [&str; 3] = ["xa", "xb", "xc"];
/// Calls LinkedIn's breaker judges: it opens on the fourth failure in a row.
const BREAKER_WINDOW: u64 = 4;

/// LinkedIn and X, one worker taking accounts oldest due first in small batches, so which
/// network's accounts come first is the test's choice.
async fn spawn(backend: Backend, setup: Setup) -> Option<NetworkedApp> {
    let setup = Setup {
        fake: FakeConfig {
            start_time: t0(),
            // The seeded LinkedIn accounts' refresh tokens were never issued by the fake.
            accept_unknown_refresh_tokens: true,
            ..FakeConfig::default()
        },
        ..setup
    }
    .var("REFRESH__CONCURRENCY", 1)
    .var("REFRESH__BATCH_SIZE", 3)
    .var("REFRESH__BREAKER_WINDOW", BREAKER_WINDOW);
    spawn_with_networks(backend, &[NetworkKind::X], setup).await
}

/// The X accounts, connected through X's consent page at `t0`.
async fn connect_x(app: &NetworkedApp) -> Vec<Account> {
    let mut accounts = Vec::new();
    for user in X_ACCOUNTS {
        accounts.push(app.connect_through(NetworkKind::X, user).await.1);
    }
    accounts
}

/// LinkedIn accounts stored so that they fall due at `due`.
async fn seed_linkedin_due_at(app: &NetworkedApp, due: DateTime<Utc>) -> Vec<Account> {
    let refresh_after = app.config.refresh.expiry().refresh_after;
    let seeded = app.seed(LINKEDIN_ACCOUNTS, due - refresh_after).await;
    for account in &seeded {
        assert_eq!(account.expiration, due, "the seeded accounts fall due then");
    }
    seeded
}

async fn current(app: &NetworkedApp, account: &Account) -> Account {
    app.store
        .account_by_user(&account.provider, &account.user_id)
        .await
        .unwrap()
        .expect("the account is still there")
}

/// The account as it was: the sweep released it without writing anything, and nobody was
/// told anything about it.
async fn assert_untouched(app: &NetworkedApp, before: &Account) {
    let after = current(app, before).await;
    let who = format!("{} {}", before.provider, before.user_id);
    assert_eq!(after.status, AccountStatus::Active, "{who}");
    assert_eq!(after.token.expose(), before.token.expose(), "{who}");
    assert_eq!(
        after.refresh_token.as_ref().map(|t| t.expose().to_owned()),
        before.refresh_token.as_ref().map(|t| t.expose().to_owned()),
        "{who}"
    );
    assert_eq!(after.expiration, before.expiration, "{who}");
    assert_eq!(after.refresh_attempts, 0, "{who}");
    assert_eq!(after.last_error, None, "{who}");
    assert_eq!(after.last_refreshed_at, before.last_refreshed_at, "{who}");
    assert!(app.notification_kinds(before.id).await.is_empty(), "{who}");
}

async fn assert_refreshed_at(app: &NetworkedApp, before: &Account, at: DateTime<Utc>) {
    let after = current(app, before).await;
    let who = format!("{} {}", before.provider, before.user_id);
    assert_eq!(after.status, AccountStatus::Active, "{who}");
    assert_eq!(after.last_refreshed_at, Some(at), "{who}");
    assert_ne!(after.token.expose(), before.token.expose(), "{who}");
}

async fn linkedin_down_leaves_its_accounts_due_and_x_is_refreshed(backend: Backend) {
    // Enough attempts per account that LinkedIn's breaker, not an account's last attempt,
    // ends its calls: no LinkedIn account is even marked failing.
    let setup = Setup::default().var("REFRESH__MAX_ATTEMPTS", 10);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let x_accounts = connect_x(&app).await;
    let first_x_due = x_accounts.iter().map(|a| a.expiration).min().unwrap();
    let last_x_due = x_accounts.iter().map(|a| a.expiration).max().unwrap();
    // LinkedIn's accounts come first: with one sweep for everyone, the breaker would have
    // ended it before any X account was reached.
    let linkedin = seed_linkedin_due_at(&app, first_x_due - Duration::hours(1)).await;
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), None);
    let x = app.network(NetworkKind::X);
    let x_calls = x.calls(NetworkEndpoint::Refresh);

    let report = app.sweep_at(last_x_due).await;

    assert_eq!(report.outcome, SweepOutcome::Degraded, "{report:?}");
    assert_eq!(
        report.error.as_deref(),
        Some("circuit breaker opened: LinkedIn is failing")
    );
    assert_eq!(
        report.counts.refreshed,
        X_ACCOUNTS.len() as i64,
        "{report:?}"
    );
    assert_eq!(report.counts.failing, 0, "{report:?}");
    assert_eq!(
        x.calls(NetworkEndpoint::Refresh),
        x_calls + X_ACCOUNTS.len() as u64
    );
    for account in &x_accounts {
        assert_refreshed_at(&app, account, last_x_due).await;
    }
    // The breaker stopped LinkedIn's calls; none of its accounts was changed.
    let linkedin_calls = app.fake.controls().calls(Endpoint::Token);
    assert!(
        linkedin_calls <= BREAKER_WINDOW,
        "LinkedIn got {linkedin_calls} calls"
    );
    for account in &linkedin {
        assert_untouched(&app, account).await;
    }

    // Released and still due: LinkedIn back, the next sweep refreshes every one of them.
    app.fake.controls().clear_faults();
    let next = last_x_due + Duration::hours(12);
    let report = app.sweep_at(next).await;
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    for account in &linkedin {
        assert_refreshed_at(&app, account, next).await;
    }
}

async fn x_refusing_our_client_leaves_its_accounts_and_linkedin_is_refreshed(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default()).await else {
        return;
    };
    let x_accounts = connect_x(&app).await;
    let last_x_due = x_accounts.iter().map(|a| a.expiration).max().unwrap();
    // X's accounts come first: with one sweep for everyone, X's refusal would have failed it
    // before any LinkedIn account was reached.
    let linkedin_due = last_x_due + Duration::hours(1);
    let linkedin = seed_linkedin_due_at(&app, linkedin_due).await;
    let x = app.network(NetworkKind::X);
    x.inject_fault(
        NetworkEndpoint::Refresh,
        Fault::Respond {
            status: 401,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"error":"invalid_client","error_description":"Missing valid authorization header"}"#.into(),
        },
        None,
    );
    let x_calls = x.calls(NetworkEndpoint::Refresh);

    let report = app.sweep_at(linkedin_due).await;

    assert_eq!(report.outcome, SweepOutcome::Failed, "{report:?}");
    let error = report.error.clone().unwrap_or_default();
    assert!(error.starts_with("X misconfiguration: "), "{error}");
    assert!(!error.contains("LinkedIn"), "{error}");
    assert_eq!(
        report.counts.refreshed, LINKEDIN_ACCOUNTS as i64,
        "{report:?}"
    );
    for account in &linkedin {
        assert_refreshed_at(&app, account, linkedin_due).await;
    }
    // One refusal was enough: X was not asked again for its other accounts.
    assert_eq!(x.calls(NetworkEndpoint::Refresh), x_calls + 1);
    for account in &x_accounts {
        assert_untouched(&app, account).await;
    }

    // Its claims were released: with our client fixed, the next sweep refreshes them.
    x.clear_faults();
    let next = linkedin_due + Duration::hours(12);
    let report = app.sweep_at(next).await;
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    for account in &x_accounts {
        assert_refreshed_at(&app, account, next).await;
    }
}

async fn a_linkedin_429_does_not_hold_the_refreshes_of_x(backend: Backend) {
    // Room for LinkedIn's two minutes: the pause is kept, not turned into a stop.
    let setup = Setup::default().var("REFRESH__RETRY_MAX_TOTAL_SECONDS", 600);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let x_accounts = connect_x(&app).await;
    let last_x_due = x_accounts.iter().map(|a| a.expiration).max().unwrap();
    // Linked a day later, so not due in the sweep below: one worker waiting out LinkedIn's
    // pause for it would hold the X accounts queued behind it.
    app.at(t0() + Duration::days(1));
    let ada = app.linked("ada").await;
    assert!(ada.expiration > last_x_due);
    // LinkedIn throttles a refresh the host app asks for: every caller of LinkedIn in the
    // process now waits the two minutes it asked for.
    let linkedin = app.fake.controls();
    linkedin.inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(120),
        },
        Some(1),
    );
    let linkedin_calls = linkedin.calls(Endpoint::Token);
    let (status, body) = app
        .api_request(reqwest::Method::POST, "/api/v1/accounts/ada/refresh")
        .await;
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(linkedin.calls(Endpoint::Token), linkedin_calls + 1);

    // The X accounts fall due meanwhile (LinkedIn's do not): X is called at once. The bound
    // only ends a test that fails; a shared pause would hold the sweep two minutes.
    let report = tokio::time::timeout(std::time::Duration::from_secs(60), app.sweep_at(last_x_due))
        .await
        .expect("the X refreshes did not wait out LinkedIn's pause");
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    assert_eq!(
        report.counts.refreshed,
        X_ACCOUNTS.len() as i64,
        "{report:?}"
    );
    for account in &x_accounts {
        assert_refreshed_at(&app, account, last_x_due).await;
    }
    assert_eq!(linkedin.calls(Endpoint::Token), linkedin_calls + 1);
}
