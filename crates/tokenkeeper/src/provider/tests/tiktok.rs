//! TikTok against its fake: `client_key` and commas, `open_id`, rotation within a chain that
//! keeps its end, its error shape with `log_id`, revocation.

use super::*;
use crate::provider::{tiktok, Rotation};
use fake_linkedin::{Fault, NetworkEndpoint};

const SUB: &str = "-000OpenIdOfAda";

async fn start() -> (FakeNetwork, tiktok::TikTokClient) {
    let fake = fake(NetworkKind::TikTok, FakeNetworkConfig::default(), SUB).await;
    let mut settings =
        tiktok::settings(name(ProviderKind::TikTok), CLIENT_ID, secret(CLIENT_SECRET));
    settings.scopes = vec!["user.info.basic".into(), "video.publish".into()];
    let client = tiktok::client(at_fake(settings, &fake)).unwrap();
    (fake, client)
}

#[tokio::test]
async fn tiktok_connects_with_client_key_and_rotates_within_the_chain() {
    let (fake, tiktok) = start().await;
    assert_eq!(tiktok.capabilities().rotation, Rotation::SingleUse);
    // The consent page refuses `client_id` and space-separated scopes.
    let grant = connect(&tiktok).await;
    assert_eq!(grant.subject.as_deref(), Some(SUB), "open_id");
    let first = grant.tokens;
    assert_eq!(first.scope, "user.info.basic video.publish");
    let chain_end = t0() + chrono::Duration::days(180);
    assert_eq!(first.refresh_token_expires_at, Some(chain_end));
    let identity = tiktok
        .identify(&TokenGrant {
            tokens: first.clone(),
            subject: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (identity.subject.as_str(), identity.name.as_deref()),
        (SUB, Some("Ada Lovelace"))
    );

    let controls = fake.controls();
    let later = t0() + chrono::Duration::days(1);
    controls.set_now(later);
    let second = refresh(&tiktok, &first, later).await.unwrap();
    let (old, new) = (
        first.refresh_token.as_ref().unwrap(),
        second.refresh_token.as_ref().unwrap(),
    );
    assert_ne!(old.expose(), new.expose(), "rotated");
    assert_eq!(
        second.refresh_token_expires_at,
        Some(chain_end),
        "the chain keeps its end"
    );
    assert!(!controls.refresh_token_usable(old.expose()));

    let (class, error) = class_of(refresh(&tiktok, &first, later).await);
    assert_eq!(
        (class, error.code()),
        (FailureClass::Permanent, Some("invalid_grant"))
    );
    assert!(error.to_string().contains("log_id 2026"), "{error}");
    assert_eq!(controls.refresh_token_reuses(), 1);
}

#[tokio::test]
async fn tiktok_failures_are_classified_for_the_engine() {
    let (fake, tiktok) = start().await;
    let tokens = connect(&tiktok).await.tokens;
    let controls = fake.controls();
    controls.inject_fault(
        NetworkEndpoint::Refresh,
        Fault::TooManyRequests {
            retry_after: Some(30),
        },
        Some(1),
    );
    let (class, error) = class_of(refresh(&tiktok, &tokens, t0()).await);
    assert_eq!(
        (class, error.retry_after()),
        (
            FailureClass::Transient,
            Some(std::time::Duration::from_secs(30))
        )
    );
    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Status(503), Some(1));
    let (class, _) = class_of(refresh(&tiktok, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Transient);

    let mut settings = tiktok.settings().clone();
    settings.client_secret = Some(secret("not-the-secret"));
    let wrong = tiktok::client(settings).unwrap();
    let (class, error) = class_of(refresh(&wrong, &tokens, t0()).await);
    assert_eq!(
        (class, error.code()),
        (FailureClass::Misconfiguration, Some("invalid_client"))
    );
}

#[tokio::test]
async fn tiktok_revocation_removes_the_app() {
    let (fake, tiktok) = start().await;
    let tokens = connect(&tiktok).await.tokens;
    tiktok.revoke(&tokens.access_token).await.unwrap();
    assert!(!fake.controls().accepts(tokens.access_token.expose()));
    let (class, error) = class_of(tiktok.identify_token(&tokens.access_token).await);
    assert_eq!(
        (class, error.code()),
        (FailureClass::Permanent, Some("access_token_invalid"))
    );
    let (class, _) = class_of(refresh(&tiktok, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Permanent);
}
