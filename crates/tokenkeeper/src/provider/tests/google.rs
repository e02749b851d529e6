//! Google against its fake: offline access forced through consent, no refresh token on
//! refresh, six months' idle death, revocation.

use super::*;
use crate::domain::ExpiryPolicy;
use crate::provider::{google, keep_or_replace_refresh_token, Rotation};
use fake_linkedin::{Fault, NetworkEndpoint};

const SUB: &str = "112233445566778899001";

async fn start() -> (FakeNetwork, google::GoogleClient) {
    let fake = fake(NetworkKind::Google, FakeNetworkConfig::default(), SUB).await;
    let settings = google::settings(name(ProviderKind::Google), CLIENT_ID, secret(CLIENT_SECRET));
    let client = google::client(at_fake(settings, &fake)).unwrap();
    (fake, client)
}

#[tokio::test]
async fn google_gives_a_refresh_token_on_every_consent_and_keeps_it_on_refresh() {
    let (fake, google) = start().await;
    assert_eq!(google.capabilities().rotation, Rotation::Keeps);
    let grant = connect(&google).await;
    let first = grant.tokens;
    let held = first.refresh_token.clone().expect("access_type=offline");
    assert_eq!(
        first.token_expires_at,
        t0() + chrono::Duration::seconds(3599)
    );
    let identity = google
        .identify(&TokenGrant {
            tokens: first.clone(),
            subject: None,
        })
        .await
        .unwrap();
    assert_eq!(identity.subject, SUB);
    assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
    // The member connects again: without prompt=consent Google would send no refresh token.
    assert!(connect(&google).await.tokens.refresh_token.is_some());

    let later = t0() + chrono::Duration::hours(2);
    let renewed = refresh(&google, &first, later).await.unwrap();
    assert!(renewed.refresh_token.is_none(), "Google sends none back");
    let stored = keep_or_replace_refresh_token(Some(&held), None, renewed);
    assert_eq!(
        stored.refresh_token.as_ref().map(|t| t.expose()),
        Some(held.expose())
    );
    assert!(fake.controls().accepts(stored.access_token.expose()));
    // The same refresh token serves again.
    assert!(refresh(&google, &stored, later).await.is_ok());
    assert_eq!(fake.controls().refresh_token_reuses(), 0);
}

#[tokio::test]
async fn the_scheduled_refresh_keeps_a_google_refresh_token_from_dying_unused() {
    let (fake, google) = start().await;
    let mut tokens = connect(&google).await.tokens;
    // The longest interval an operator may set: the idle life decides.
    let policy = google.expiry_policy(ExpiryPolicy {
        refresh_after: chrono::Duration::days(365),
        ..ExpiryPolicy::default()
    });
    let controls = fake.controls();
    let mut now = t0();
    for _ in 0..3 {
        let due = policy.next_refresh_due(now, tokens.token_expires_at, None);
        assert!(due > now + chrono::Duration::days(150), "not hourly: {due}");
        controls.set_now(due);
        now = due;
        let renewed = refresh(&google, &tokens, now).await.unwrap();
        tokens = keep_or_replace_refresh_token(tokens.refresh_token.as_ref(), None, renewed);
    }
    // Left unused past six months, it dies: invalid_grant, for the member to reconnect.
    controls.set_now(now + chrono::Duration::days(183));
    let (class, error) = class_of(refresh(&google, &tokens, now).await);
    assert_eq!(
        (class, error.code()),
        (FailureClass::Permanent, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn google_failures_are_classified_for_the_engine() {
    let (fake, google) = start().await;
    let tokens = connect(&google).await.tokens;
    let controls = fake.controls();
    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Status(503), Some(1));
    let (class, _) = class_of(refresh(&google, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Transient);

    let mut settings = google.settings().clone();
    settings.client_secret = Some(secret("not-the-secret"));
    let wrong = google::client(settings).unwrap();
    let (class, error) = class_of(refresh(&wrong, &tokens, t0()).await);
    assert_eq!(
        (class, error.code()),
        (FailureClass::Misconfiguration, Some("invalid_client"))
    );
}

#[tokio::test]
async fn google_revocation_ends_the_grant_and_a_dead_token_is_revoked_already() {
    let (fake, google) = start().await;
    let tokens = connect(&google).await.tokens;
    google.revoke(&tokens.access_token).await.unwrap();
    assert!(!fake.controls().accepts(tokens.access_token.expose()));
    // Google answers 400 invalid_token for a token already dead: what revoking wanted.
    google.revoke(&tokens.access_token).await.unwrap();
    let (class, _) = class_of(refresh(&google, &tokens, t0()).await);
    assert_eq!(class, FailureClass::Permanent);
    let (class, error) = class_of(google.identify_token(&tokens.access_token).await);
    assert_eq!(
        (class, error.http_status()),
        (FailureClass::Permanent, Some(401))
    );
}
