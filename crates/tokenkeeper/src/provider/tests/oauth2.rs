//! The generic client, configured by hand as an operator would for a standard server (X's
//! and Google's fakes stand in for one): public clients, client authentication, PKCE off.

use super::*;
use crate::provider::oauth2::{ClientAuth, OAuth2Client, Standard};
use crate::provider::Pkce;

fn standard(fake: &FakeNetwork, secret: Option<secrecy::SecretString>) -> OAuth2Settings {
    let settings = OAuth2Settings::standard(
        ProviderName::parse("corp").unwrap(),
        ProviderKind::OAuth2,
        CLIENT_ID,
        secret,
        Url::parse("http://unused.test/").unwrap(),
        Url::parse("http://unused.test/").unwrap(),
    );
    at_fake(settings, fake)
}

#[tokio::test]
async fn a_public_client_names_itself_in_the_body() {
    let config = FakeNetworkConfig {
        confidential_client: false,
        ..Default::default()
    };
    let fake = fake(NetworkKind::X, config, "42").await;
    let mut settings = standard(&fake, None);
    settings.scopes = vec!["tweet.read".into(), "offline.access".into()];
    let client = OAuth2Client::new(settings, Standard).unwrap();
    let tokens = connect(&client).await.tokens;
    assert!(tokens.refresh_token.is_some());
    assert!(refresh(&client, &tokens, t0()).await.is_ok());
}

#[tokio::test]
async fn a_confidential_client_authenticates_as_configured() {
    let fake = fake(NetworkKind::Google, FakeNetworkConfig::default(), "42").await;
    for auth in [ClientAuth::Basic, ClientAuth::Post] {
        let mut settings = standard(&fake, Some(secret(CLIENT_SECRET)));
        settings.client_auth = auth;
        settings.scopes = vec!["openid".into()];
        settings.authorize_params = vec![("access_type".into(), "offline".into())];
        settings.pkce = Pkce::Off;
        let client = OAuth2Client::new(settings, Standard).unwrap();
        let tokens = connect(&client).await.tokens;
        assert_eq!(tokens.scope, "openid", "{auth:?}");
        let identity = client.identify_token(&tokens.access_token).await.unwrap();
        assert_eq!(identity.subject, "42");
    }
}

#[tokio::test]
async fn a_provider_without_an_endpoint_says_so_as_our_mistake() {
    let fake = fake(NetworkKind::Google, FakeNetworkConfig::default(), "42").await;
    let mut settings = standard(&fake, Some(secret(CLIENT_SECRET)));
    settings.revocation_url = None;
    let client = OAuth2Client::new(settings, Standard).unwrap();
    let token = crate::domain::AccessToken::new("any");
    let (class, _) = class_of(client.revoke(&token).await);
    assert_eq!(class, FailureClass::Misconfiguration);
    let (class, _) = class_of(client.introspect(&token, t0()).await);
    assert_eq!(class, FailureClass::Misconfiguration);
    assert!(!client.capabilities().revocation);
}

#[tokio::test]
async fn a_waiting_member_is_retried_only_where_it_is_safe() {
    use fake_linkedin::{Fault, NetworkEndpoint};
    let fake = fake(NetworkKind::Google, FakeNetworkConfig::default(), "42").await;
    let mut settings = standard(&fake, Some(secret(CLIENT_SECRET)));
    settings.scopes = vec!["openid".into()];
    let client = OAuth2Client::new(settings, Standard).unwrap();
    let controls = fake.controls();

    // No answer at all: the code was not spent, so it is sent again.
    let code = consent(&client, None).await;
    controls.inject_fault(NetworkEndpoint::Token, Fault::Disconnect, Some(1));
    let grant = client
        .exchange_code(&code, &callback(), None, t0())
        .await
        .unwrap();
    assert_eq!(controls.calls(NetworkEndpoint::Token), 2);

    // An answer, even a 503: the code may be spent, so it is not.
    let code = consent(&client, None).await;
    controls.inject_fault(NetworkEndpoint::Token, Fault::Status(503), Some(1));
    let (class, _) = class_of(client.exchange_code(&code, &callback(), None, t0()).await);
    assert_eq!(class, FailureClass::Transient);
    assert_eq!(controls.calls(NetworkEndpoint::Token), 3);

    // Identifying the member who just consented reads only: a 503 is asked again...
    controls.inject_fault(NetworkEndpoint::Me, Fault::Status(503), Some(1));
    assert_eq!(client.identify(&grant).await.unwrap().subject, "42");
    assert_eq!(controls.calls(NetworkEndpoint::Me), 2);
    // ...but a stored token is asked about once: the engine paces its own retries.
    controls.inject_fault(NetworkEndpoint::Me, Fault::Status(503), Some(1));
    let (class, _) = class_of(client.identify_token(&grant.tokens.access_token).await);
    assert_eq!(class, FailureClass::Transient);
    assert_eq!(controls.calls(NetworkEndpoint::Me), 3);
}

/// A server (or a gateway before it) that answers an error by echoing the form it was sent,
/// without an `error_description`: the refresh token and the secret in the echo must not
/// reach the error's text, which goes to logs, `last_error` and webhooks.
#[tokio::test]
async fn an_error_echoing_the_form_sent_is_masked() {
    let echo = axum::Router::new().route(
        "/token",
        axum::routing::post(|body: String| async move {
            (
                axum::http::StatusCode::BAD_REQUEST,
                format!("bad request: {body}"),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, echo).await });
    let secret_value = "the-client-secret-value";
    let mut settings = OAuth2Settings::standard(
        ProviderName::parse("corp").unwrap(),
        ProviderKind::OAuth2,
        CLIENT_ID,
        Some(secret(secret_value)),
        Url::parse(&format!("http://{addr}/authorize")).unwrap(),
        Url::parse(&format!("http://{addr}/token")).unwrap(),
    );
    settings.client_auth = ClientAuth::Post;
    let client = OAuth2Client::new(settings, Standard).unwrap();
    let refresh_token = format!("rt-{}", "x".repeat(40));
    let tokens = crate::domain::TokenSet {
        access_token: crate::domain::AccessToken::new("at"),
        token_expires_at: t0(),
        refresh_token: Some(crate::domain::RefreshToken::new(&refresh_token)),
        refresh_token_expires_at: None,
        scope: String::new(),
    };
    let error = refresh(&client, &tokens, t0()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("bad request"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains(secret_value), "{text}");
    assert!(!text.contains(&refresh_token), "{text}");
}
