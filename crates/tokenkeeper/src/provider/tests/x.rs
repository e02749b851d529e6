//! X against its fake: PKCE and Basic, `offline.access`, single-use rotation, and its
//! `invalid_request` for a dead refresh token.

use super::*;
use crate::domain::ExpiryPolicy;
use crate::provider::{x, Capabilities, Failure, Pkce, RefreshStyle, Rotation};
use fake_linkedin::{Fault, NetworkEndpoint};
use std::time::Duration;

const SUB: &str = "1460000000000000001";

async fn start(config: FakeNetworkConfig) -> (FakeNetwork, x::XClient) {
    let fake = fake(NetworkKind::X, config, SUB).await;
    let mut settings = x::settings(
        name(ProviderKind::X),
        CLIENT_ID,
        Some(secret(CLIENT_SECRET)),
    );
    // As an operator might configure it: without the scope X needs for a refresh token.
    settings.scopes = vec!["tweet.read".into(), "users.read".into()];
    let client = x::client(at_fake(settings, &fake)).unwrap();
    (fake, client)
}

#[tokio::test]
async fn x_connects_with_pkce_and_basic_and_its_refresh_tokens_rotate() {
    let (fake, x) = start(FakeNetworkConfig::default()).await;
    assert_eq!(
        x.capabilities(),
        Capabilities {
            pkce: Pkce::Required,
            refresh: RefreshStyle::RefreshToken,
            rotation: Rotation::SingleUse,
            revocation: true,
            introspection: false,
        }
    );
    let grant = connect(&x).await;
    let first = grant.tokens;
    assert_eq!(first.token_expires_at, t0() + chrono::Duration::hours(2));
    assert!(
        first.scope.split(' ').any(|s| s == x::OFFLINE_ACCESS),
        "{}",
        first.scope
    );
    let old = first
        .refresh_token
        .clone()
        .expect("offline.access gives one");
    let identity = x
        .identify(&TokenGrant {
            tokens: first.clone(),
            subject: None,
        })
        .await
        .unwrap();
    assert_eq!(identity.subject, SUB);
    assert_eq!(identity.name.as_deref(), Some("Ada Lovelace"));

    let later = t0() + chrono::Duration::hours(1);
    let second = refresh(&x, &first, later).await.unwrap();
    let new = second.refresh_token.clone().expect("X rotates");
    assert_ne!(new.expose(), old.expose());
    assert_eq!(second.token_expires_at, later + chrono::Duration::hours(2));
    let controls = fake.controls();
    assert!(
        !controls.refresh_token_usable(old.expose()),
        "the old one is spent"
    );
    assert!(controls.refresh_token_usable(new.expose()));
    assert!(controls.accepts(second.access_token.expose()));

    // The spent token again: X's 400 invalid_request, which only reconnecting fixes.
    let (class, error) = class_of(refresh(&x, &first, later).await);
    assert_eq!(class, FailureClass::Permanent, "{error}");
    assert_eq!(
        (error.http_status(), error.code()),
        (Some(400), Some("invalid_request"))
    );
    assert_eq!(controls.refresh_token_reuses(), 1);
}

#[tokio::test]
async fn x_failures_are_classified_for_the_engine() {
    let (fake, x) = start(FakeNetworkConfig::default()).await;
    let tokens = connect(&x).await.tokens;
    let controls = fake.controls();

    controls.inject_fault(
        NetworkEndpoint::Refresh,
        Fault::TooManyRequests {
            retry_after: Some(7),
        },
        Some(1),
    );
    let (class, error) = class_of(refresh(&x, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Transient);
    assert!(error.is_rate_limited());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));

    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Status(503), Some(1));
    let (class, error) = class_of(refresh(&x, &tokens, t0()).await);
    assert_eq!(
        (class, error.http_status()),
        (FailureClass::Transient, Some(503))
    );

    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Hang, Some(1));
    let (class, error) = class_of(refresh(&x, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Transient);
    assert!(matches!(error.failure, Failure::Timeout), "{error}");

    // None of these spent the refresh token.
    assert!(refresh(&x, &tokens, t0()).await.is_ok());
}

#[tokio::test]
async fn x_answers_a_wrong_client_secret_as_our_misconfiguration() {
    let (fake, _) = start(FakeNetworkConfig::default()).await;
    let mut settings = at_fake(
        x::settings(name(ProviderKind::X), CLIENT_ID, Some(secret("wrong"))),
        &fake,
    );
    settings.callback_retry_max_total = Duration::ZERO;
    let wrong = x::client(settings).unwrap();
    let verifier = PkceVerifier::fresh();
    let code = consent(&wrong, Some(&verifier)).await;
    let (class, error) = class_of(
        wrong
            .exchange_code(&code, &callback(), Some(&verifier), t0())
            .await,
    );
    assert_eq!(class, FailureClass::Misconfiguration, "{error}");
    assert_eq!(error.code(), Some("unauthorized_client"));
    assert!(
        !error.to_string().contains("wrong"),
        "no secret in the text: {error}"
    );
}

#[tokio::test]
async fn x_revocation_ends_the_grant() {
    let (fake, x) = start(FakeNetworkConfig::default()).await;
    let tokens = connect(&x).await.tokens;
    x.revoke(&tokens.access_token).await.unwrap();
    assert!(!fake.controls().accepts(tokens.access_token.expose()));
    let (class, _) = class_of(refresh(&x, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Permanent);
    let (class, error) = class_of(x.identify_token(&tokens.access_token).await);
    assert_eq!(
        (class, error.code()),
        (FailureClass::Permanent, Some("Unauthorized"))
    );
}

#[tokio::test]
async fn an_x_account_is_due_before_its_refresh_token_dies_not_with_its_access_token() {
    let (_fake, x) = start(FakeNetworkConfig::default()).await;
    let tokens = connect(&x).await.tokens;
    let configured = ExpiryPolicy {
        refresh_after: chrono::Duration::days(365),
        ..ExpiryPolicy::default()
    };
    let due = x.expiry_policy(configured).next_refresh_due(
        t0(),
        tokens.token_expires_at,
        tokens.refresh_token_expires_at,
    );
    // Six months' life, a three-day margin; not two hours.
    assert_eq!(due, t0() + chrono::Duration::days(177));
}
