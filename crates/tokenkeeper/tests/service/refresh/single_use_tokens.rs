//! Single-use refresh tokens are never lost. X (like TikTok and any server that rotates them)
//! spends the old refresh token the moment it answers a refresh: the new one must be written
//! whatever happens next. A sweep that stops while X is answering waits for the answer and
//! writes it; a write that fails because the database went away is tried again.

use crate::backend_tests;
use crate::support::fake_x::{engine, stored_x, x_world, XWorld};
use crate::support::panicking_store::PanickingStore;
use crate::support::spawn_app;
use chrono::Duration;
use fake_linkedin::networks::NetworkEndpoint;
use fake_linkedin::{Fault, Gate};
use test_databases::Backend;
use tokenkeeper::domain::Account;
use tokenkeeper::refresh::{EngineStores, SweepOptions, SweepOutcome};
use tokio_util::sync::CancellationToken;

backend_tests!(
    a_sweep_stopping_while_x_answers_writes_the_rotated_token,
    new_tokens_are_written_again_when_the_database_fails,
);

const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(60);

/// What every test ends on: the stored refresh token is the one X issued last and X takes
/// it; the spent one is refused; nothing was presented twice.
fn assert_chain_kept(world: &XWorld, stored: &Account) {
    let controls = world.fake.controls();
    let held = stored.refresh_token.as_ref().expect("a refresh token");
    assert_ne!(
        held.expose(),
        world.refresh_token,
        "the rotated token is stored"
    );
    assert!(
        controls.refresh_token_usable(held.expose()),
        "X takes the stored one"
    );
    assert!(
        !controls.refresh_token_usable(&world.refresh_token),
        "the old one is spent"
    );
    assert_eq!(controls.refresh_token_reuses(), 0);
    assert!(controls.accepts(stored.token.expose()));
}

async fn a_sweep_stopping_while_x_answers_writes_the_rotated_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let world = x_world(&app).await;
    let controls = world.fake.controls();
    let gate = Gate::new();
    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Hold(gate.clone()), Some(1));
    let shutdown = CancellationToken::new();
    let engine = engine(&app, EngineStores::of(&app.store), world.providers.clone())
        .with_shutdown(shutdown.clone());
    let sweep = tokio::spawn(async move { engine.sweep(SweepOptions::default()).await });
    tokio::time::timeout(
        EVENTUALLY,
        controls.wait_for_calls(NetworkEndpoint::Refresh, 1),
    )
    .await
    .expect("the sweep asks X");
    // The process stops while X holds its answer; then X answers.
    shutdown.cancel();
    gate.open();
    let report = tokio::time::timeout(EVENTUALLY, sweep)
        .await
        .expect("the sweep ends once X has answered")
        .unwrap()
        .unwrap();
    assert_eq!(report.outcome, SweepOutcome::Interrupted);
    assert_eq!(controls.refresh_grants(), 1);
    let stored = stored_x(&app).await;
    assert_eq!(stored.id, world.account.id);
    assert_chain_kept(&world, &stored);
}

async fn new_tokens_are_written_again_when_the_database_fails(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let world = x_world(&app).await;
    let flaky = PanickingStore {
        inner: app.store.clone(),
        panics_for: 0,
        late_claim: None,
        failing_token_writes: 2.into(),
    };
    let engine = engine(&app, flaky.in_engine(&app.store), world.providers.clone());
    let report = engine.sweep(SweepOptions::default()).await.unwrap();
    assert_eq!(report.outcome, SweepOutcome::Completed, "{report:?}");
    assert_eq!(report.counts.refreshed, 1);
    assert_eq!(
        world.fake.controls().refresh_grants(),
        1,
        "X was asked once"
    );
    assert_chain_kept(&world, &stored_x(&app).await);
    // The next refresh goes on from the stored token.
    app.at(app.clock_now() + Duration::days(1));
    let again = stored_x(&app).await;
    world.fake.controls().set_now(again.expiration);
    app.at(again.expiration);
    let report = engine.sweep(SweepOptions::default()).await.unwrap();
    assert_eq!(report.counts.refreshed, 1);
    assert_eq!(world.fake.controls().refresh_token_reuses(), 0);
}
