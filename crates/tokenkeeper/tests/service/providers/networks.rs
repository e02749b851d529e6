//! The named networks end to end: the service configured with `[providers.x]`,
//! `[providers.google]`, … pointed at their fakes, driven through real HTTP (the connect
//! flow, the host API's refresh, the sweep) on every database, on stopped clocks. Each test
//! names one network quirk and checks what the service stores because of it.

use crate::backend_tests;
use crate::support::networks::{spawn_with_networks, NetworkedApp};
use crate::support::{t0, Setup};
use chrono::Duration;
use fake_linkedin::{Fault, NetworkEndpoint, NetworkKind};
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;
use url::Url;

backend_tests!(
    x_connects_with_pkce_and_basic_and_every_refresh_rotates,
    a_dead_grant_at_x_google_or_tiktok_needs_reconnect,
    google_refresh_keeps_the_stored_refresh_token,
    tiktok_connects_with_client_key_and_comma_scopes_and_rotates,
    instagram_and_threads_postpone_a_renewal_under_a_day_old,
    instagram_and_threads_renew_once_a_day_old,
    an_expired_meta_token_needs_reconnect_without_a_call,
    facebook_renews_with_fb_exchange_token,
    facebook_app_removed_needs_reconnect,
    a_throttled_network_leaves_the_account_as_it_was,
    throttles_and_outages_during_a_sweep_mark_accounts_failing_not_dead,
);

const REFRESHING_KINDS: [NetworkKind; 3] =
    [NetworkKind::X, NetworkKind::Google, NetworkKind::TikTok];
const INSTAGRAM_AND_THREADS: [NetworkKind; 2] = [NetworkKind::Instagram, NetworkKind::Threads];

async fn spawn(backend: Backend, kinds: &[NetworkKind]) -> Option<NetworkedApp> {
    spawn_with_networks(backend, kinds, Setup::default()).await
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn x_connects_with_pkce_and_basic_and_every_refresh_rotates(backend: Backend) {
    let Some(app) = spawn(backend, &[NetworkKind::X]).await else {
        return;
    };
    let x = app.network(NetworkKind::X);
    let (authorize, linked) = app.connect_through(NetworkKind::X, "ada").await;
    // X takes a flow only with an S256 challenge; the fake checks the verifier against it at
    // the exchange, and refuses a token call without HTTP Basic.
    assert_eq!(
        query(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query(&authorize, "code_challenge").is_some());
    assert!(query(&authorize, "scope")
        .unwrap()
        .split(' ')
        .any(|s| s == "offline.access"));
    assert_eq!(linked.provider.as_str(), "x");
    assert_eq!(linked.status, AccountStatus::Active);
    assert!(x.accepts(linked.token.expose()));
    let first = linked
        .refresh_token
        .clone()
        .expect("offline.access gives one");

    // A sweep when the account falls due: the new single-use refresh token replaces the
    // spent one.
    let report = app.sweep_at(linked.expiration).await;
    assert_eq!(report.counts.refreshed, 1);
    let swept = app.account_of(NetworkKind::X, "ada").await;
    let second = swept.refresh_token.clone().unwrap();
    assert_ne!(second.expose(), first.expose());
    assert!(!x.refresh_token_usable(first.expose()));
    assert!(x.refresh_token_usable(second.expose()));
    assert!(x.accepts(swept.token.expose()));

    // And one the host app asks for.
    let (status, body) = app.refresh_now(NetworkKind::X, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "refreshed");
    let asked = app.account_of(NetworkKind::X, "ada").await;
    let third = asked.refresh_token.clone().unwrap();
    assert!(x.refresh_token_usable(third.expose()));
    assert!(!x.refresh_token_usable(second.expose()));
    assert_eq!(x.refresh_grants(), 2);
    // Never a spent token presented again: at X that would have killed the whole grant.
    assert_eq!(x.refresh_token_reuses(), 0);
}

async fn a_dead_grant_at_x_google_or_tiktok_needs_reconnect(backend: Backend) {
    let Some(app) = spawn(backend, &REFRESHING_KINDS).await else {
        return;
    };
    for kind in REFRESHING_KINDS {
        let (_, account) = app.connect_through(kind, "ada").await;
        // The member removes the app: X then answers `400 invalid_request`, Google and
        // TikTok `400 invalid_grant`.
        app.network(kind).revoke_member(account.member_id.as_str());
    }
    // Within the access tokens' life: nothing but the refresh's answer makes them dead here.
    app.at(t0() + Duration::minutes(30));
    for kind in REFRESHING_KINDS {
        let (status, body) = app.refresh_now(kind, "ada").await;
        assert_eq!(status, StatusCode::OK, "{kind:?}: {body}");
        assert_eq!(body["result"], "needs_reconnect", "{kind:?}");
        let account = app.account_of(kind, "ada").await;
        assert_eq!(account.status, AccountStatus::NeedsReconnect, "{kind:?}");
        assert_eq!(
            app.notification_kinds(account.id)
                .await
                .first()
                .map(String::as_str),
            Some("reconnect_required"),
            "{kind:?}"
        );
    }
    // Not asked again: the accounts are no longer due, and a dead grant does not come back.
    let report = app.sweep_at(t0() + Duration::days(60)).await;
    assert_eq!(report.counts.due, 0);
    for kind in REFRESHING_KINDS {
        assert_eq!(
            app.network(kind).calls(NetworkEndpoint::Refresh),
            1,
            "{kind:?}"
        );
    }
}

async fn google_refresh_keeps_the_stored_refresh_token(backend: Backend) {
    let Some(app) = spawn(backend, &[NetworkKind::Google]).await else {
        return;
    };
    let google = app.network(NetworkKind::Google);
    let (authorize, linked) = app.connect_through(NetworkKind::Google, "ada").await;
    // Without both, Google gives no refresh token to a member who consented before.
    assert_eq!(query(&authorize, "access_type").as_deref(), Some("offline"));
    assert_eq!(query(&authorize, "prompt").as_deref(), Some("consent"));
    let kept = linked.refresh_token.clone().expect("access_type=offline");

    app.at(t0() + Duration::days(1));
    let (status, body) = app.refresh_now(NetworkKind::Google, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "refreshed");
    assert_eq!(google.refresh_grants(), 1);
    let after = app.account_of(NetworkKind::Google, "ada").await;
    // The answer had no refresh token: the stored one goes on, and still works.
    assert_eq!(
        after.refresh_token.as_ref().unwrap().expose(),
        kept.expose()
    );
    assert!(google.refresh_token_usable(kept.expose()));
    assert_ne!(after.token.expose(), linked.token.expose());
    assert!(google.accepts(after.token.expose()));
    assert_eq!(
        after.token_expires_at,
        t0() + Duration::days(1) + Duration::seconds(3599)
    );
}

async fn tiktok_connects_with_client_key_and_comma_scopes_and_rotates(backend: Backend) {
    let Some(app) = spawn(backend, &[NetworkKind::TikTok]).await else {
        return;
    };
    let tiktok = app.network(NetworkKind::TikTok);
    let (authorize, linked) = app.connect_through(NetworkKind::TikTok, "ada").await;
    // The fake's consent page refuses `client_id` and space-joined scopes.
    assert_eq!(
        query(&authorize, "client_key").as_deref(),
        Some("fake-client-id")
    );
    assert_eq!(query(&authorize, "client_id"), None);
    assert_eq!(
        query(&authorize, "scope").as_deref(),
        Some("user.info.basic,video.publish")
    );
    // The chain ends 180 days after the consent, whatever the rotations.
    let chain_end = t0() + Duration::days(180);
    assert_eq!(linked.refresh_token_expires_at, Some(chain_end));

    let mut previous = linked.refresh_token.clone().unwrap();
    for day in [1, 2] {
        app.at(t0() + Duration::days(day));
        let (status, body) = app.refresh_now(NetworkKind::TikTok, "ada").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let after = app.account_of(NetworkKind::TikTok, "ada").await;
        let current = after.refresh_token.clone().unwrap();
        assert_ne!(current.expose(), previous.expose());
        assert!(tiktok.refresh_token_usable(current.expose()));
        assert!(!tiktok.refresh_token_usable(previous.expose()));
        assert_eq!(after.refresh_token_expires_at, Some(chain_end));
        previous = current;
    }
    assert_eq!(tiktok.refresh_grants(), 2);
    assert_eq!(tiktok.refresh_token_reuses(), 0);
}

async fn instagram_and_threads_postpone_a_renewal_under_a_day_old(backend: Backend) {
    let Some(app) = spawn(backend, &INSTAGRAM_AND_THREADS).await else {
        return;
    };
    for kind in INSTAGRAM_AND_THREADS {
        app.at(t0());
        let (_, linked) = app.connect_through(kind, "ada").await;
        assert!(linked.refresh_token.is_none(), "{kind:?}: Meta has none");
        assert_eq!(linked.token_expires_at, t0() + Duration::days(60));

        app.at(t0() + Duration::hours(1));
        let (status, body) = app.refresh_now(kind, "ada").await;
        assert_eq!(status, StatusCode::CONFLICT, "{kind:?}: {body}");
        assert_eq!(body["error"], "too_early", "{body}");
        let after = app.account_of(kind, "ada").await;
        // Due again when the network will renew it; nothing else changed, nothing was asked.
        assert_eq!(after.expiration, t0() + Duration::hours(24), "{kind:?}");
        assert_eq!(after.status, AccountStatus::Active);
        assert_eq!(after.token.expose(), linked.token.expose());
        assert_eq!(app.network(kind).calls(NetworkEndpoint::Refresh), 0);
    }
}

async fn instagram_and_threads_renew_once_a_day_old(backend: Backend) {
    let Some(app) = spawn(backend, &INSTAGRAM_AND_THREADS).await else {
        return;
    };
    for kind in INSTAGRAM_AND_THREADS {
        app.at(t0());
        let (_, linked) = app.connect_through(kind, "ada").await;
        let day_later = t0() + Duration::hours(25);
        app.at(day_later);
        let (status, body) = app.refresh_now(kind, "ada").await;
        assert_eq!(status, StatusCode::OK, "{kind:?}: {body}");
        assert_eq!(body["result"], "refreshed");
        let meta = app.network(kind);
        assert_eq!(meta.refresh_grants(), 1, "{kind:?}");
        let after = app.account_of(kind, "ada").await;
        assert_ne!(after.token.expose(), linked.token.expose());
        assert!(meta.accepts(after.token.expose()));
        assert_eq!(after.token_expires_at, day_later + Duration::days(60));
        assert_eq!(after.last_refreshed_at, Some(day_later));
        // The renewal keeps the grant's permissions.
        assert_eq!(after.scope, linked.scope);
    }
}

async fn an_expired_meta_token_needs_reconnect_without_a_call(backend: Backend) {
    let kinds = [
        NetworkKind::Instagram,
        NetworkKind::Threads,
        NetworkKind::Facebook,
    ];
    let Some(app) = spawn(backend, &kinds).await else {
        return;
    };
    for kind in kinds {
        app.connect_through(kind, "ada").await;
    }
    let refresh_calls_at_connect: Vec<u64> = kinds
        .iter()
        .map(|k| app.network(*k).calls(NetworkEndpoint::Refresh))
        .collect();
    // Past the 60 days without a renewal (the sweeps were missed): Meta renews only live
    // tokens, so only the member can connect again.
    let report = app.sweep_at(t0() + Duration::days(61)).await;
    assert_eq!(report.counts.needs_reconnect, 3);
    for (kind, before) in kinds.into_iter().zip(refresh_calls_at_connect) {
        let account = app.account_of(kind, "ada").await;
        // Asked to reconnect, then (the token being dead already) expired by the sweep's
        // housekeeping.
        assert_eq!(account.status, AccountStatus::Expired, "{kind:?}");
        assert!(account.last_error.unwrap().contains("expired"), "{kind:?}");
        assert_eq!(app.network(kind).calls(NetworkEndpoint::Refresh), before);
        assert_eq!(
            app.notification_kinds(account.id)
                .await
                .first()
                .map(String::as_str),
            Some("reconnect_due"),
            "{kind:?}"
        );
    }
}

async fn facebook_renews_with_fb_exchange_token(backend: Backend) {
    let Some(app) = spawn(backend, &[NetworkKind::Facebook]).await else {
        return;
    };
    let facebook = app.network(NetworkKind::Facebook);
    let (_, linked) = app.connect_through(NetworkKind::Facebook, "ada").await;
    // The code gave a one-hour token; fb_exchange_token made it a 60-day one.
    assert_eq!(linked.token_expires_at, t0() + Duration::days(60));
    assert_eq!(facebook.refresh_grants(), 1);

    let week_later = t0() + Duration::days(7);
    app.at(week_later);
    let (status, body) = app.refresh_now(NetworkKind::Facebook, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "refreshed");
    assert_eq!(facebook.refresh_grants(), 2);
    let after = app.account_of(NetworkKind::Facebook, "ada").await;
    assert_ne!(after.token.expose(), linked.token.expose());
    assert!(facebook.accepts(after.token.expose()));
    assert_eq!(after.token_expires_at, week_later + Duration::days(60));
    assert!(after.expiration > week_later && after.expiration < after.token_expires_at);
}

async fn facebook_app_removed_needs_reconnect(backend: Backend) {
    let Some(app) = spawn(backend, &[NetworkKind::Facebook]).await else {
        return;
    };
    let (_, linked) = app.connect_through(NetworkKind::Facebook, "ada").await;
    app.network(NetworkKind::Facebook)
        .revoke_member(linked.member_id.as_str());
    app.at(t0() + Duration::days(7));
    // Graph answers 190 with subcode 458: the member removed the app.
    let (status, body) = app.refresh_now(NetworkKind::Facebook, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "needs_reconnect");
    let after = app.account_of(NetworkKind::Facebook, "ada").await;
    assert_eq!(after.status, AccountStatus::NeedsReconnect);
    assert_eq!(
        app.notification_kinds(after.id)
            .await
            .first()
            .map(String::as_str),
        Some("reconnect_required")
    );
}

async fn a_throttled_network_leaves_the_account_as_it_was(backend: Backend) {
    let Some(app) = spawn(backend, &NetworkKind::ALL).await else {
        return;
    };
    for kind in NetworkKind::ALL {
        app.connect_through(kind, "ada").await;
    }
    // Old enough for Instagram's and Threads' window.
    app.at(t0() + Duration::hours(25));
    for kind in NetworkKind::ALL {
        let before = app.account_of(kind, "ada").await;
        app.network(kind).inject_fault(
            NetworkEndpoint::Refresh,
            Fault::TooManyRequests {
                retry_after: Some(1),
            },
            Some(1),
        );
        let (status, body) = app.refresh_now(kind, "ada").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{kind:?}: {body}");
        let after = app.account_of(kind, "ada").await;
        assert_eq!(after.status, AccountStatus::Active, "{kind:?}");
        assert_eq!(after.token.expose(), before.token.expose());
        assert_eq!(
            after.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            before.refresh_token.as_ref().map(|t| t.expose().to_owned())
        );
        assert_eq!(after.expiration, before.expiration);
        // Nothing was spent: the next refresh goes through with what is stored.
        let (status, body) = app.refresh_now(kind, "ada").await;
        assert_eq!(status, StatusCode::OK, "{kind:?}: {body}");
        assert_eq!(body["result"], "refreshed");
        assert_eq!(app.network(kind).refresh_token_reuses(), 0);
    }
}

async fn throttles_and_outages_during_a_sweep_mark_accounts_failing_not_dead(backend: Backend) {
    let setup = Setup::default().var("REFRESH__MAX_ATTEMPTS", 1);
    let Some(app) = spawn_with_networks(backend, &NetworkKind::ALL, setup).await else {
        return;
    };
    let mut latest_due = t0();
    for kind in NetworkKind::ALL {
        let (_, account) = app.connect_through(kind, "ada").await;
        latest_due = latest_due.max(account.expiration);
        // Half the networks throttle (429 with Retry-After), half are down (503).
        let fault = match kind {
            NetworkKind::X | NetworkKind::TikTok | NetworkKind::Instagram => {
                Fault::TooManyRequests {
                    retry_after: Some(1),
                }
            }
            _ => Fault::Status(503),
        };
        app.network(kind)
            .inject_fault(NetworkEndpoint::Refresh, fault, None);
    }
    let refresh_calls_at_connect: Vec<u64> = NetworkKind::ALL
        .iter()
        .map(|k| app.network(*k).calls(NetworkEndpoint::Refresh))
        .collect();
    let report = app.sweep_at(latest_due).await;
    assert_eq!(report.counts.failing, 6, "{report:?}");
    for (kind, before) in NetworkKind::ALL.into_iter().zip(refresh_calls_at_connect) {
        let account = app.account_of(kind, "ada").await;
        assert_eq!(account.status, AccountStatus::RefreshFailing, "{kind:?}");
        assert_eq!(
            app.network(kind).calls(NetworkEndpoint::Refresh),
            before + 1
        );
        // The member is not asked to reconnect for the network's outage.
        assert!(!app
            .notification_kinds(account.id)
            .await
            .iter()
            .any(|k| k == "reconnect_required"));
    }
}
