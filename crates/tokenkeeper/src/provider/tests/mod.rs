//! The OAuth 2.0 providers against the fakes of their networks, over real HTTP, on a stopped
//! fake clock: what each sends is what the network takes, and what each network answers is
//! read and classified as the engine needs it. No database: a provider call needs none.

mod google;
mod oauth2;
mod tiktok;
mod x;

use crate::domain::TokenSet;
use crate::domain::{ProviderKind, ProviderName};
use crate::provider::oauth2::OAuth2Settings;
use crate::provider::{
    AuthorizeRequest, FailureClass, HeldGrant, PkceVerifier, Provider, ProviderError, Renewal,
    TokenGrant,
};
use chrono::{DateTime, TimeZone, Utc};
use fake_linkedin::{FakeNetwork, FakeNetworkConfig, Member, NetworkKind};
use std::collections::HashMap;
use url::Url;

pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

pub fn callback() -> Url {
    Url::parse("http://app.test/oauth/callback").unwrap()
}

pub fn name(kind: ProviderKind) -> ProviderName {
    ProviderName::parse(&kind.to_string()).unwrap()
}

pub fn secret(value: &str) -> secrecy::SecretString {
    secrecy::SecretString::from(value.to_owned())
}

pub fn member(sub: &str) -> Member {
    Member {
        sub: sub.into(),
        name: "Ada Lovelace".into(),
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        email: Some("ada@example.com".into()),
    }
}

/// The network's fake on a stopped clock at `t0`, with `member` logged in.
pub async fn fake(kind: NetworkKind, config: FakeNetworkConfig, sub: &str) -> FakeNetwork {
    let config = FakeNetworkConfig {
        start_time: t0(),
        clock_runs: false,
        ..config
    };
    let fake = FakeNetwork::start(kind, config).await.unwrap();
    fake.controls().login_as(Some(member(sub)));
    fake
}

/// `settings` with every endpoint at the fake instead of the real network.
pub fn at_fake(settings: OAuth2Settings, fake: &FakeNetwork) -> OAuth2Settings {
    let url = |u: String| Url::parse(&u).unwrap();
    OAuth2Settings {
        authorize_url: url(fake.authorize_url()),
        token_url: url(fake.token_url()),
        revocation_url: fake.revoke_url().map(url),
        userinfo_url: Some(url(fake.me_url())),
        // A call the fake holds fails fast; nothing waits on this for a result.
        timeout: std::time::Duration::from_secs(2),
        callback_retry_max_total: std::time::Duration::from_secs(3),
        ..settings
    }
}

/// The member consents on the network's page, reached through the provider's authorize URL
/// as a browser would: the code the network sends back.
pub async fn consent(provider: &dyn Provider, pkce: Option<&PkceVerifier>) -> String {
    let redirect = callback();
    let request = AuthorizeRequest {
        state: "state-1",
        redirect_uri: &redirect,
        pkce,
    };
    let url = provider.authorize_url(&request);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(url).send().await.unwrap();
    let status = response.status();
    let Some(location) = response.headers().get("location") else {
        panic!(
            "the consent page refused: {status} {}",
            response.text().await.unwrap()
        );
    };
    let back = Url::parse(location.to_str().unwrap()).unwrap();
    let pairs: HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "state-1");
    pairs["code"].clone()
}

/// Consent and code exchange, at `t0`.
pub async fn connect(provider: &dyn Provider) -> TokenGrant {
    let verifier = PkceVerifier::fresh();
    let code = consent(provider, Some(&verifier)).await;
    provider
        .exchange_code(&code, &callback(), Some(&verifier), t0())
        .await
        .unwrap()
}

/// One refresh of `tokens`, as the engine asks for it.
pub async fn refresh(
    provider: &dyn Provider,
    tokens: &TokenSet,
    now: DateTime<Utc>,
) -> Result<TokenSet, ProviderError> {
    let held = HeldGrant {
        access_token: &tokens.access_token,
        token_expires_at: tokens.token_expires_at,
        refresh_token: tokens.refresh_token.as_ref(),
        issued_at: now,
    };
    match provider.refresh(&held, now).await? {
        Renewal::Renewed(tokens) => Ok(tokens),
        Renewal::TooEarly { .. } => panic!("an OAuth 2.0 refresh is never too early"),
    }
}

/// The class of a failed call, and the failure for the message.
pub fn class_of<T: std::fmt::Debug>(
    result: Result<T, ProviderError>,
) -> (FailureClass, ProviderError) {
    let error = result.expect_err("the call was to fail");
    (error.class(), error)
}
