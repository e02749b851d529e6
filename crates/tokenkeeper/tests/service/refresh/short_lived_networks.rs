//! Accounts of networks kept alive by their refresh token (X, TikTok: access tokens of two
//! hours) are not dead because their access token ended. A member who revokes the app is
//! asked to reconnect once, by one transition, one email and one webhook event, and the
//! account waits for them: `expired` only once the refresh token's known end has passed
//! (TikTok's chain), never while none is known (X). LinkedIn's accounts keep their rule:
//! `expired` once the access token has ended. Run with webhooks on (each account expired in
//! a transaction with its event) and off (one statement).

use crate::backend_tests;
use crate::support::networks::{spawn_with_networks, NetworkedApp};
use crate::support::webhook_receiver::{Receiver, SECRET};
use crate::support::{t0, Setup};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::NetworkKind;
use test_databases::Backend;
use tokenkeeper::domain::{AccountStatus, WebhookEventType};

backend_tests!(
    a_revoked_account_waits_for_its_member_with_webhooks,
    a_revoked_account_waits_for_its_member_without_webhooks,
);

async fn a_revoked_account_waits_for_its_member_with_webhooks(backend: Backend) {
    let hooks = Receiver::start().await;
    let setup = Setup::default()
        .var("WEBHOOKS__URL", &hooks.url)
        .var("WEBHOOKS__SECRET", SECRET)
        .var("WEBHOOKS__POLL_SECONDS", 3600);
    revocations(backend, setup, true).await;
}

async fn a_revoked_account_waits_for_its_member_without_webhooks(backend: Backend) {
    revocations(backend, Setup::default(), false).await;
}

/// Each account's webhook events after its link: (type, reason).
async fn told(app: &NetworkedApp, account_id: i64) -> Vec<(WebhookEventType, Option<String>)> {
    app.store
        .webhook_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e.account_id == account_id && e.event_type != WebhookEventType::Linked)
        .map(|e| (e.event_type, e.reason))
        .collect()
}

fn day(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

async fn revocations(backend: Backend, setup: Setup, webhooks: bool) {
    let kinds = [NetworkKind::X, NetworkKind::TikTok];
    let Some(app) = spawn_with_networks(backend, &kinds, setup).await else {
        return;
    };
    let (_, x) = app.connect_through(NetworkKind::X, "ada").await;
    let (_, tiktok) = app.connect_through(NetworkKind::TikTok, "bo").await;
    let linkedin = app.linked("cy").await;
    let chain_end = tiktok
        .refresh_token_expires_at
        .expect("TikTok tells its chain's end");
    assert!(chain_end > day(170), "{chain_end}");
    assert!(x.refresh_token_expires_at.is_none(), "X tells no end");
    // Every member revokes the app; all three accounts are due on day 50.
    app.network(NetworkKind::X)
        .revoke_member(x.member_id.as_str());
    app.network(NetworkKind::TikTok)
        .revoke_member(tiktok.member_id.as_str());
    app.fake
        .controls()
        .revoke_member(linkedin.member_id.as_str());
    for account in [&x, &tiktok, &linkedin] {
        assert!(account.expiration <= day(50), "{account:?}");
    }

    let report = app.sweep_at(day(50)).await;
    assert_eq!(report.counts.needs_reconnect, 3, "{report:?}");
    let status = |kind: Option<NetworkKind>, user: &'static str| {
        let app = &app;
        async move {
            match kind {
                Some(kind) => app.account_of(kind, user).await.status,
                None => app.account(user).await.status,
            }
        }
    };
    // X's and TikTok's access tokens ended on day 0: they are waiting for their members
    // all the same, as is LinkedIn's (whose token lives until day 60).
    assert_eq!(
        status(Some(NetworkKind::X), "ada").await,
        AccountStatus::NeedsReconnect
    );
    assert_eq!(
        status(Some(NetworkKind::TikTok), "bo").await,
        AccountStatus::NeedsReconnect
    );
    assert_eq!(status(None, "cy").await, AccountStatus::NeedsReconnect);
    // One email for X's member; one event.
    assert_eq!(app.notification_kinds(x.id).await, ["reconnect_required"]);
    if webhooks {
        assert_eq!(
            told(&app, x.id).await,
            [(
                WebhookEventType::NeedsReconnect,
                app.account_of(NetworkKind::X, "ada").await.last_error
            )]
        );
    }

    // Past LinkedIn's access token: LinkedIn's account is expired, as it always was; the
    // others wait.
    app.sweep_at(day(61)).await;
    assert_eq!(status(None, "cy").await, AccountStatus::Expired);
    assert_eq!(
        status(Some(NetworkKind::X), "ada").await,
        AccountStatus::NeedsReconnect
    );
    assert_eq!(
        status(Some(NetworkKind::TikTok), "bo").await,
        AccountStatus::NeedsReconnect
    );

    // Past TikTok's chain: nothing renews it now, so it is expired. X's refresh token has no
    // known end: its account waits for its member.
    app.sweep_at(chain_end + Duration::days(1)).await;
    assert_eq!(
        status(Some(NetworkKind::TikTok), "bo").await,
        AccountStatus::Expired
    );
    assert_eq!(
        status(Some(NetworkKind::X), "ada").await,
        AccountStatus::NeedsReconnect
    );
    // Still the one email and the one event for X's member, after three sweeps.
    assert_eq!(app.notification_kinds(x.id).await, ["reconnect_required"]);
    if webhooks {
        assert_eq!(told(&app, x.id).await.len(), 1);
        let expired = |events: Vec<(WebhookEventType, Option<String>)>| {
            events
                .into_iter()
                .filter(|(kind, _)| *kind == WebhookEventType::Expired)
                .map(|(_, reason)| reason.unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            expired(told(&app, linkedin.id).await),
            ["access_token_died"]
        );
        assert_eq!(expired(told(&app, tiktok.id).await), ["refresh_token_died"]);
    }
}
