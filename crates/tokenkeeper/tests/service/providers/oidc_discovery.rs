//! The discovery reader against the real OpenID provider, and against a server that answers
//! with documents it must refuse.

use crate::service_tests;
use crate::support::oidc_provider::OidcProvider;
use axum::routing::get;
use std::time::Duration;
use tokenkeeper::provider::oidc::discovery::{Discovery, DiscoveryError};
use url::Url;

service_tests!(
    discovery_reads_the_real_provider_s_document,
    discovery_refuses_what_it_cannot_trust,
);

async fn discovery_reads_the_real_provider_s_document() {
    let redirect = "http://127.0.0.1:9/callback";
    let Some(provider) = OidcProvider::start(redirect, Duration::from_secs(60)).await else {
        return;
    };
    let found = Discovery::fetch(&reqwest::Client::new(), &provider.issuer)
        .await
        .unwrap();
    let at = |path: &str| provider.issuer.join(path).unwrap();
    assert_eq!(found.authorization_endpoint, at("/auth"));
    assert_eq!(found.token_endpoint, at("/token"));
    assert_eq!(found.userinfo_endpoint, Some(at("/me")));
    assert_eq!(found.revocation_endpoint, Some(at("/token/revocation")));
    assert_eq!(
        found.introspection_endpoint,
        Some(at("/token/introspection"))
    );
    assert!(found.supports_auth_method("client_secret_post"));
    assert!(found.supports_pkce_s256());
    assert!(found.scopes_supported.iter().any(|s| s == "offline_access"));

    // The same server under an issuer it does not call itself is refused.
    let other = Url::parse(&format!(
        "{}/tenant",
        provider.issuer.as_str().trim_end_matches('/')
    ))
    .unwrap();
    let err = Discovery::fetch(&reqwest::Client::new(), &other)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::Status { status: 404, .. }),
        "{err}"
    );
}

/// Serves `document` as every issuer's discovery document; the issuer it is served under.
async fn serving(document: &'static str) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let document = document.replace("ISSUER", &format!("http://{address}"));
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        get(move || async move { document }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Url::parse(&format!("http://{address}")).unwrap()
}

async fn discovery_refuses_what_it_cannot_trust() {
    let http = reqwest::Client::new();
    let good = r#"{"issuer": "ISSUER", "authorization_endpoint": "ISSUER/auth",
                   "token_endpoint": "ISSUER/token"}"#;
    let issuer = serving(good).await;
    let found = Discovery::fetch(&http, &issuer).await.unwrap();
    assert_eq!(
        found.token_endpoint_auth_methods_supported,
        ["client_secret_basic"]
    );

    let issuer = serving("<html>Sign in</html>").await;
    let err = Discovery::fetch(&http, &issuer).await.unwrap_err();
    assert!(matches!(err, DiscoveryError::NotJson { .. }), "{err}");

    let issuer = serving(
        r#"{"issuer": "https://evil.example.com", "authorization_endpoint": "ISSUER/auth",
            "token_endpoint": "ISSUER/token"}"#,
    )
    .await;
    let err = Discovery::fetch(&http, &issuer).await.unwrap_err();
    assert!(
        matches!(err, DiscoveryError::IssuerMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("evil.example.com"), "{err}");

    let issuer = serving(r#"{"issuer": "ISSUER", "authorization_endpoint": "ISSUER/auth"}"#).await;
    let err = Discovery::fetch(&http, &issuer).await.unwrap_err();
    assert!(
        matches!(
            err,
            DiscoveryError::MissingEndpoint {
                field: "token_endpoint",
                ..
            }
        ),
        "{err}"
    );
}
