//! The one window in which a rotated refresh token can be lost: the process dies between X's
//! answer and the write. The real binary is killed (SIGKILL: no clean-up of any kind) while
//! X holds its answer; X then rotates, and the token it issued goes nowhere. Nothing is lost
//! silently: the dead process's claim keeps every other process off the account for its
//! lease, and the next refresh, refused by X, asks the member to reconnect.

use crate::backend_tests;
use crate::support::fake_x::{engine, stored_x, x_world_linked_at, X_CLIENT_ID, X_CLIENT_SECRET};
use crate::support::spawn_app;
use chrono::Utc;
use fake_linkedin::networks::NetworkEndpoint;
use fake_linkedin::{Fault, Gate};
use std::process::Stdio;
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;
use tokenkeeper::refresh::{EngineStores, SweepOptions, SweepOutcome};

backend_tests!(a_sweep_killed_while_x_answers_leaves_the_member_asked_to_reconnect);

/// A bound only on failure.
const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(60);

async fn a_sweep_killed_while_x_answers_leaves_the_member_asked_to_reconnect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Linked now: the killed process takes its claim on the real clock, and the account's
    // times (the refresh token's idle life above all) must agree with the survivor's clock.
    let world = x_world_linked_at(&app, Utc::now()).await;
    let controls = world.fake.controls();
    let gate = Gate::new();
    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Hold(gate.clone()), Some(1));

    let stderr = tempfile::NamedTempFile::new().unwrap();
    let x = |key: &str| format!("TOKENKEEPER_PROVIDERS__X__{key}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"))
        .args(["sweep", "--as-of", &world.account.expiration.to_rfc3339()])
        .env_clear()
        .envs(app.process_env())
        .env(x("KIND"), "x")
        .env(x("CLIENT_ID"), X_CLIENT_ID)
        .env(x("CLIENT_SECRET"), X_CLIENT_SECRET)
        .env(x("TOKEN_URL"), world.fake.token_url())
        .env(x("AUTHORIZE_URL"), world.fake.authorize_url())
        .env(x("USERINFO_URL"), world.fake.me_url())
        // Its call must not time out while the test holds X's answer.
        .env(x("TIMEOUT_SECONDS"), "300")
        .stdout(Stdio::null())
        .stderr(stderr.reopen().unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("the tokenkeeper binary starts");
    tokio::select! {
        called = tokio::time::timeout(EVENTUALLY, controls.wait_for_calls(NetworkEndpoint::Refresh, 1)) => {
            called.expect("the sweep asks X");
        }
        exited = child.wait() => panic!(
            "the sweep ended ({:?}) before asking X:\n{}",
            exited,
            std::fs::read_to_string(stderr.path()).unwrap_or_default()
        ),
    }
    // The process dies with X's answer on its way; then X answers into the void, having
    // spent the refresh token the database still holds.
    child.kill().await.unwrap();
    gate.open();
    tokio::time::timeout(EVENTUALLY, controls.wait_for_refresh_grants(1))
        .await
        .expect("X finishes the refresh its client left");
    assert!(!controls.refresh_token_usable(&world.refresh_token));
    let stored = stored_x(&app).await;
    assert_eq!(stored.status, AccountStatus::Active);
    assert_eq!(
        stored.refresh_token.as_ref().map(|t| t.expose()),
        Some(world.refresh_token.as_str()),
        "the rotated token never reached the database"
    );

    // Another process, while the dead one's claim lasts (taken on the real clock, for
    // `refresh.lease_seconds`): the account is left alone, X is not asked.
    let survivor = engine(&app, EngineStores::of(&app.store), world.providers.clone());
    let options = || SweepOptions {
        as_of: Some(world.account.expiration),
        ..SweepOptions::default()
    };
    app.clock.set(Utc::now());
    let held = survivor.sweep(options()).await.unwrap();
    assert_eq!(held.outcome, SweepOutcome::Completed, "{held:?}");
    assert_eq!(held.counts.due, 0, "{held:?}");
    assert_eq!(controls.calls(NetworkEndpoint::Refresh), 1);

    // Once the claim has lapsed, the next refresh sends the spent token: X refuses it (and
    // ends the grant, the rotated token with it), and the member is asked to reconnect.
    app.clock
        .set(Utc::now() + app.config.refresh.lease + chrono::Duration::minutes(1));
    let after = survivor.sweep(options()).await.unwrap();
    assert_eq!(after.outcome, SweepOutcome::Completed, "{after:?}");
    assert_eq!(after.counts.needs_reconnect, 1, "{after:?}");
    assert_eq!(controls.refresh_token_reuses(), 1);
    assert_eq!(controls.refresh_grants(), 1, "no refresh was granted twice");
    let stored = stored_x(&app).await;
    assert_eq!(stored.id, world.account.id);
    // Marked needs_reconnect, and then expired by the same sweep's housekeeping: that
    // housekeeping is built from the app's configuration, which has no `[providers.x]` (X is
    // only this engine's), so it applies the access-token rule, and X's two-hour access token
    // has long died. A service configured with X keeps the account needs_reconnect
    // (`short_lived_networks`). Either way only the member can renew it.
    assert_eq!(stored.status, AccountStatus::Expired);
    let kinds: Vec<String> = app
        .store
        .notifications_for(stored.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind.to_string())
        .collect();
    assert!(
        kinds.iter().any(|k| k == "reconnect_required"),
        "no reconnect email queued: {kinds:?}"
    );
}
