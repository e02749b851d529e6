//! The fake X beside the service, and one X account due: for the tests of networks that
//! rotate refresh tokens, where a token X issued and the service did not write is lost.

use crate::support::{t0, TestApp};
use chrono::{DateTime, Utc};
use fake_linkedin::networks::{FakeNetwork, FakeNetworkConfig, NetworkKind};
use fake_linkedin::Member;
use std::sync::Arc;
use tokenkeeper::domain::{
    AccessToken, Account, EmailAddress, LinkedAccount, MemberId, ProviderName, RefreshToken,
    TokenSet, UserId,
};
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::provider::{x, Provider, Providers};
use tokenkeeper::refresh::{EngineStores, RefreshEngine};
use tokenkeeper::workers::Housekeeping;

pub const X_CLIENT_ID: &str = "x-client";
pub const X_CLIENT_SECRET: &str = "x-secret";

pub struct XWorld {
    pub fake: FakeNetwork,
    pub providers: Providers,
    pub account: Account,
    /// The refresh token stored with the account, as X issued it.
    pub refresh_token: String,
}

/// The fake X on a stopped clock, the service's providers with X beside LinkedIn, and one X
/// account due now.
pub async fn x_world(app: &TestApp) -> XWorld {
    x_world_linked_at(app, t0()).await
}

/// `x_world`, the account linked (and X's clock started) at `linked_at`: the real time, for a
/// test whose other process takes its claims on the real clock.
pub async fn x_world_linked_at(app: &TestApp, linked_at: DateTime<Utc>) -> XWorld {
    let fake = FakeNetwork::start(
        NetworkKind::X,
        FakeNetworkConfig {
            client_id: X_CLIENT_ID.into(),
            client_secret: X_CLIENT_SECRET.into(),
            start_time: linked_at,
            clock_runs: false,
            ..FakeNetworkConfig::default()
        },
    )
    .await
    .unwrap();
    let name = ProviderName::parse("x").unwrap();
    let mut settings = x::settings(
        name.clone(),
        X_CLIENT_ID,
        Some(X_CLIENT_SECRET.to_owned().into()),
    );
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
        linked_at,
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

pub fn engine(app: &TestApp, stores: EngineStores, providers: Providers) -> RefreshEngine {
    RefreshEngine::new(
        stores,
        providers,
        app.clock.clone(),
        app.config.refresh.clone(),
        app.config.notify.clone(),
        Housekeeping::of(&app.store, &app.config),
    )
}

pub async fn stored_x(app: &TestApp) -> Account {
    app.store
        .account_by_user(
            &ProviderName::parse("x").unwrap(),
            &UserId::parse("ada").unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
}
