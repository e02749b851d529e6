//! Single-use refresh tokens are never lost. X (like TikTok and any server that rotates them)
//! spends the old refresh token the moment it answers a refresh: the new one must be written
//! whatever happens next. A sweep that stops while X is answering waits for the answer and
//! writes it; a write that fails because the database went away is tried again.

use crate::backend_tests;
use crate::support::panicking_store::PanickingStore;
use crate::support::{spawn_app, t0, TestApp};
use chrono::Duration;
use fake_linkedin::networks::{FakeNetwork, FakeNetworkConfig, NetworkEndpoint, NetworkKind};
use fake_linkedin::{Fault, Gate, Member};
use std::sync::Arc;
use test_databases::Backend;
use tokenkeeper::domain::{
    AccessToken, Account, EmailAddress, LinkedAccount, MemberId, ProviderName, RefreshToken,
    TokenSet, UserId,
};
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::provider::{x, Provider, Providers};
use tokenkeeper::refresh::{EngineStores, RefreshEngine, SweepOptions, SweepOutcome};
use tokenkeeper::workers::Housekeeping;
use tokio_util::sync::CancellationToken;

backend_tests!(
    a_sweep_stopping_while_x_answers_writes_the_rotated_token,
    new_tokens_are_written_again_when_the_database_fails,
);

const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(60);

struct XWorld {
    fake: FakeNetwork,
    providers: Providers,
    account: Account,
    refresh_token: String,
}

/// The fake X on a stopped clock, the service's providers with X beside LinkedIn, and one X
/// account due now.
async fn x_world(app: &TestApp) -> XWorld {
    let fake = FakeNetwork::start(
        NetworkKind::X,
        FakeNetworkConfig {
            client_id: "x-client".into(),
            client_secret: "x-secret".into(),
            start_time: t0(),
            clock_runs: false,
            ..FakeNetworkConfig::default()
        },
    )
    .await
    .unwrap();
    let name = ProviderName::parse("x").unwrap();
    let mut settings = x::settings(name.clone(), "x-client", Some("x-secret".to_owned().into()));
    settings.token_url = fake.token_url().parse().unwrap();
    settings.authorize_url = fake.authorize_url().parse().unwrap();
    settings.userinfo_url = Some(fake.me_url().parse().unwrap());
    let x: Arc<dyn Provider> = Arc::new(x::client(settings).unwrap());
    let linkedin: Arc<dyn Provider> =
        Arc::new(LinkedInClient::new(app.config.linkedin.clone()).unwrap());
    let providers = Providers::new([
        (linkedin, chrono::Duration::seconds(60)),
        (x.clone(), chrono::Duration::seconds(60)),
    ]);
    let member = Member {
        sub: "x-member-ada".into(),
        name: "Ada".into(),
        given_name: "Ada".into(),
        family_name: "L".into(),
        email: None,
    };
    let issued = fake
        .controls()
        .issue_tokens(member, &["tweet.read", "users.read", "offline.access"]);
    let refresh_token = issued.refresh_token.clone().expect("offline.access");
    let linked = LinkedAccount::new(
        UserId::parse("ada").unwrap(),
        MemberId::parse("x-member-ada").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        None,
        TokenSet {
            access_token: AccessToken::new(issued.access_token),
            token_expires_at: issued.expires_at,
            refresh_token: Some(RefreshToken::new(&refresh_token)),
            refresh_token_expires_at: None,
            scope: "tweet.read users.read offline.access".into(),
        },
        t0(),
        &x.expiry_policy(app.config.refresh.expiry()),
    )
    .through(name);
    let account = app.store.save_linked_account(&linked).await.unwrap();
    // Due: our clock and X's at the account's next refresh.
    app.at(account.expiration);
    fake.controls().set_now(account.expiration);
    XWorld {
        fake,
        providers,
        account,
        refresh_token,
    }
}

fn engine(app: &TestApp, stores: EngineStores, providers: Providers) -> RefreshEngine {
    RefreshEngine::new(
        stores,
        providers,
        app.clock.clone(),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&app.store, &app.config),
    )
}

async fn stored_x(app: &TestApp) -> Account {
    app.store
        .account_by_user(
            &ProviderName::parse("x").unwrap(),
            &UserId::parse("ada").unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
}

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
