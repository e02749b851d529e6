//! What anyone on the internet can reach: the connect link and the OAuth callback (rate
//! limited per client), health, and clean answers for everything else. Metrics are elsewhere.

use crate::service_tests;
use crate::support::{spawn, spawn_app, Setup, TestApp};
use reqwest::StatusCode;
use test_databases::Backend;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.browser.get(app.url(path)).send().await.unwrap()
}

fn assert_protective_headers(answer: &reqwest::Response) {
    let headers = answer.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
}

service_tests!(metrics_are_served_only_on_their_own_listener);
async fn metrics_are_served_only_on_their_own_listener() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    assert_eq!(get(&app, "/metrics").await.status(), StatusCode::NOT_FOUND);
    let metrics = app.browser.get(app.metrics_url()).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    // The metrics listener serves none of the public routes (only `/metrics` and `/readyz`).
    let elsewhere = app.metrics_url().join("/api/v1/accounts/u-1").unwrap();
    let answer = app.browser.get(elsewhere).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

service_tests!(public_endpoints_are_rate_limited_per_client);
async fn public_endpoints_are_rate_limited_per_client() {
    let setup = Setup::default()
        .var("HTTP__RATE_LIMIT_PER_MINUTE", 1)
        .var("HTTP__RATE_LIMIT_BURST", 2);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    // A damaged link and a callback without state: each answered, each counted.
    assert_eq!(
        get(&app, "/connect/linkedin?user_id=x").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/oauth/linkedin/callback").await.status(),
        StatusCode::BAD_REQUEST
    );
    let limited = get(&app, "/connect/linkedin?user_id=x").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=61).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_protective_headers(&limited);
    assert!(limited.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(limited.text().await.unwrap().contains("Too many requests"));
    assert_eq!(
        get(&app, "/oauth/linkedin/callback").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Health and the API (behind its key) are not the public endpoints' quota.
    assert_eq!(get(&app, "/healthz").await.status(), StatusCode::OK);
    let link = app
        .request_connect_link("u-1", "ada@example.com", None)
        .await;
    assert_eq!(link.status(), StatusCode::OK);
}

service_tests!(behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota);
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() {
    let setup = Setup::default()
        .var("HTTP__RATE_LIMIT_PER_MINUTE", 1)
        .var("HTTP__RATE_LIMIT_BURST", 1)
        .var("HTTP__TRUST_FORWARDED_FOR", true);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let from = |forwarded: &'static str| {
        app.browser
            .get(app.url("/oauth/linkedin/callback"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    // Only the proxy's own entry (the last) names the client; the rest is the client's say.
    let first = from("10.9.9.9, 203.0.113.5").await.unwrap();
    assert_eq!(first.status(), StatusCode::BAD_REQUEST);
    let same_client = from("10.1.1.1, 203.0.113.5").await.unwrap();
    assert_eq!(same_client.status(), StatusCode::TOO_MANY_REQUESTS);
    let other_client = from("203.0.113.6").await.unwrap();
    assert_eq!(other_client.status(), StatusCode::BAD_REQUEST);
}

service_tests!(pages_and_redirects_carry_protective_headers);
async fn pages_and_redirects_carry_protective_headers() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let link = app.connect_link("u-1", "ada@example.com", None).await;
    let to_linkedin = app.browser.get(link).send().await.unwrap();
    assert!(to_linkedin.status().is_redirection());
    // The signed link is this page's URL: no Referer may carry it to LinkedIn.
    assert_protective_headers(&to_linkedin);
    for path in [
        "/oauth/linkedin/callback",
        "/no/such/page",
        "/connect/linkedin",
    ] {
        let page = get(&app, path).await;
        assert!(page.status().is_client_error(), "{path}");
        assert_protective_headers(&page);
    }
}

service_tests!(unknown_methods_and_paths_get_clean_answers);
async fn unknown_methods_and_paths_get_clean_answers() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let cases = [
        (
            reqwest::Method::DELETE,
            "/healthz",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            reqwest::Method::POST,
            "/connect/linkedin",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        // The API tells nothing, not even its methods, to a caller without the key.
        (
            reqwest::Method::GET,
            "/api/v1/connect-links",
            StatusCode::UNAUTHORIZED,
        ),
        (
            reqwest::Method::GET,
            "/api/v2/accounts/u-1",
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::GET,
            "/%2e%2e/etc/passwd",
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, path, status) in cases {
        let answer = app
            .browser
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{method} {path}");
        assert_protective_headers(&answer);
    }
}
