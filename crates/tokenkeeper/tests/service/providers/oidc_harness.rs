//! The OpenID provider the OIDC tests run against works as they assume: its discovery
//! document lists both ways of authenticating a client, revocation and introspection; its own
//! sign-in and consent pages give a code to each client; each client exchanges it its own way;
//! and a refresh rotates the refresh token, the old one refused afterwards.

use crate::service_tests;
use crate::support::oidc_provider::{sign_in_and_consent, OidcClient, OidcProvider};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use tokenkeeper::provider::oidc::discovery::Discovery;
use url::Url;

service_tests!(the_oidc_provider_runs_the_code_flow_and_rotates_refresh_tokens);

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/acme/callback";

async fn the_oidc_provider_runs_the_code_flow_and_rotates_refresh_tokens() {
    let Some(provider) = OidcProvider::start(REDIRECT_URI, Duration::from_secs(30)).await else {
        return;
    };
    let http = reqwest::Client::new();
    let raw: Value = http
        .get(Discovery::url(&provider.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = raw["token_endpoint_auth_methods_supported"].to_string();
    for method in ["client_secret_basic", "client_secret_post"] {
        assert!(methods.contains(method), "{method} not in {methods}");
    }
    for endpoint in ["revocation_endpoint", "introspection_endpoint"] {
        assert!(raw[endpoint].is_string(), "no {endpoint} in {raw}");
    }
    let discovery = Discovery::fetch(&http, &provider.issuer).await.unwrap();
    assert!(discovery.revocation_endpoint.is_some());
    assert!(discovery.introspection_endpoint.is_some());
    assert!(discovery.supports_pkce_s256());

    for method in ["client_secret_basic", "client_secret_post"] {
        let client = provider.client(method);
        let mut authorize = discovery.authorization_endpoint.clone();
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            // offline_access asks for a refresh token, which OpenID Connect Core §11 gives
            // only with the consent prompt.
            .append_pair("scope", "openid email offline_access")
            .append_pair("prompt", "consent")
            .append_pair("state", &format!("state-{method}"));
        let code = sign_in_and_consent(&authorize, REDIRECT_URI, "member-1").await;

        let exchanged = token(
            &http,
            &discovery.token_endpoint,
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await;
        assert_eq!(exchanged.0, StatusCode::OK, "{method}: {}", exchanged.1);
        let first = exchanged.1["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{method}: no refresh token in {}", exchanged.1))
            .to_owned();
        assert!(exchanged.1["access_token"].is_string());
        assert!(exchanged.1["expires_in"].as_i64().unwrap() <= 30);

        let refreshed = refresh(&http, &discovery.token_endpoint, client, &first).await;
        assert_eq!(refreshed.0, StatusCode::OK, "{method}: {}", refreshed.1);
        let second = refreshed.1["refresh_token"].as_str().unwrap();
        assert_ne!(second, first, "{method}: the refresh token was not rotated");

        let replayed = refresh(&http, &discovery.token_endpoint, client, &first).await;
        assert_eq!(
            replayed.0,
            StatusCode::BAD_REQUEST,
            "{method}: {}",
            replayed.1
        );
        assert_eq!(replayed.1["error"], "invalid_grant", "{method}");
    }
}

async fn refresh(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &OidcClient,
    refresh_token: &str,
) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token(http, endpoint, client, &form).await
}

/// A token request with the client's own authentication: HTTP Basic, or its credentials in
/// the form.
async fn token(
    http: &reqwest::Client,
    endpoint: &Url,
    client: &OidcClient,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = form.to_vec();
    let request = http.post(endpoint.clone());
    let request = match client.token_endpoint_auth_method.as_str() {
        "client_secret_basic" => request.basic_auth(&client.client_id, Some(&client.client_secret)),
        _ => {
            form.push(("client_id", &client.client_id));
            form.push(("client_secret", &client.client_secret));
            request
        }
    };
    let answer = request.form(&form).send().await.unwrap();
    (answer.status(), answer.json().await.unwrap())
}
