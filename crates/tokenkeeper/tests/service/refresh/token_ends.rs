//! What is done about an access token's end, through the service: a refresh is due the
//! configured safety margin before the token ends (when that comes before the usual 50
//! days), and an imported token already past its end is renewed when a live refresh token
//! can renew it, else its member is asked to reconnect.

use crate::backend_tests;
use crate::support::{spawn, t0, Setup, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::FakeConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;
use tokenkeeper::domain::EnumText;

backend_tests!(
    a_refresh_is_due_the_configured_margin_before_the_access_token_ends,
    an_imported_token_past_its_end_is_renewed_or_needs_its_member,
);

async fn a_refresh_is_due_the_configured_margin_before_the_access_token_ends(backend: Backend) {
    // Tokens of 20 days: their end minus the margin comes before the usual 50 days.
    let ttl = Duration::days(20);
    let margin = Duration::hours(30);
    let setup = Setup {
        fake: FakeConfig {
            start_time: t0(),
            access_token_ttl: ttl,
            ..FakeConfig::default()
        },
        ..Setup::default()
    }
    .var("REFRESH__SAFETY_MARGIN_HOURS", margin.num_hours());
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let linked = app.linked("ada").await;
    assert_eq!(linked.token_expires_at, t0() + ttl);
    let due = t0() + ttl - margin;
    assert_eq!(linked.expiration, due);

    let early = app.sweep_at(due - Duration::seconds(1)).await;
    assert_eq!(early.counts.due, 0, "{early:?}");
    let report = app.sweep_at(due).await;
    assert_eq!(report.counts.refreshed, 1, "{report:?}");
    let refreshed = app.account("ada").await;
    assert_eq!(refreshed.token_expires_at, due + ttl);
    assert_eq!(refreshed.expiration, due + ttl - margin);
}

async fn post_account(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let response = app
        .browser
        .post(app.url("/api/v1/accounts"))
        .bearer_auth(API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A row whose access token ended yesterday, with a refresh token ending at `refresh_end`.
fn ended(user: &str, refresh_end: Option<DateTime<Utc>>) -> Value {
    let mut row = json!({
        "user_id": user,
        "email": format!("{user}@example.com"),
        "member_id": format!("member-{user}"),
        "access_token": format!("AQ-{user}"),
        "token_expires_at": (t0() - Duration::days(1)).to_rfc3339(),
        "linked_at": (t0() - Duration::days(61)).to_rfc3339(),
    });
    if let Some(end) = refresh_end {
        row["refresh_token"] = format!("AQ-{user}-refresh").into();
        row["refresh_token_expires_at"] = end.to_rfc3339().into();
    }
    row
}

async fn an_imported_token_past_its_end_is_renewed_or_needs_its_member(backend: Backend) {
    // LinkedIn (the fake) takes refresh tokens it never issued, as a host app's would be.
    let setup = Setup {
        fake: FakeConfig {
            start_time: t0(),
            accept_unknown_refresh_tokens: true,
            ..FakeConfig::default()
        },
        ..Setup::default()
    };
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let rows = [
        ("renewable", Some(t0() + Duration::days(300)), "active"),
        ("no-refresh", None, "needs_reconnect"),
        ("spent", Some(t0() - Duration::hours(1)), "needs_reconnect"),
    ];
    for (user, refresh_end, status) in rows {
        let (code, answer) = post_account(&app, &ended(user, refresh_end)).await;
        assert_eq!(code, StatusCode::CREATED, "{user}: {answer}");
        assert_eq!(answer["status"], status, "{user}: {answer}");
    }
    // The renewable one is due at once; the others wait for their members, who are emailed.
    assert!(app.account("renewable").await.expiration <= t0());
    for user in ["no-refresh", "spent"] {
        let account = app.account(user).await;
        assert_eq!(account.status, AccountStatus::NeedsReconnect, "{user}");
        let error = account.last_error.unwrap_or_default();
        assert!(error.contains("expired"), "{user}: {error}");
        let emails = app.store.notifications_for(account.id).await.unwrap();
        let kinds: Vec<&str> = emails.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(kinds, ["reconnect_required"], "{user}: {emails:?}");
    }

    let report = app.sweep_at(t0()).await;
    assert_eq!(report.counts.due, 1, "{report:?}");
    assert_eq!(report.counts.refreshed, 1, "{report:?}");
    let renewed = app.account("renewable").await;
    assert_eq!(renewed.status, AccountStatus::Active);
    assert!(renewed.token_expires_at > t0());
}
