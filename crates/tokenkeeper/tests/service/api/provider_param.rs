//! `?provider=` on the account routes, `"provider"` in a connect link's request and the
//! provider in a connect path: a name that is not configured is refused, naming the ones that
//! are, and LinkedIn is what a request naming none means.

use crate::service_tests;
use crate::support::{spawn_app, t0, API_KEY};
use reqwest::{Method, StatusCode};
use test_databases::Backend;

service_tests!(
    an_unconfigured_or_malformed_provider_is_refused_on_every_account_route,
    linkedin_is_the_provider_a_request_names_by_default,
    a_connect_link_names_its_provider,
    a_connect_path_of_no_configured_provider_is_not_found,
    the_cli_issues_links_for_configured_providers_only,
);

async fn an_unconfigured_or_malformed_provider_is_refused_on_every_account_route() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.seed(1, t0()).await;
    for (method, path) in [
        (Method::GET, "/api/v1/accounts/seed-0"),
        (Method::DELETE, "/api/v1/accounts/seed-0"),
        (Method::POST, "/api/v1/accounts/seed-0/refresh"),
        (Method::POST, "/api/v1/accounts/seed-0/invalid"),
        (Method::GET, "/api/v1/accounts"),
    ] {
        for (provider, says) in [
            (
                "x",
                "provider \"x\" is not configured; configured: linkedin",
            ),
            ("LinkedIn", "lowercase"),
            ("", "lowercase"),
            (&"a".repeat(33), "lowercase"),
        ] {
            let (status, body) = app
                .api_request(method.clone(), &format!("{path}?provider={provider}"))
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path} {provider}: {body}"
            );
            assert_eq!(body["error"], "invalid_request");
            assert!(
                body["message"].as_str().unwrap().contains(says),
                "{method} {path} {provider}: {body}"
            );
        }
    }
    // Nothing was deleted along the way.
    let (status, _) = app.api_get("/api/v1/accounts/seed-0").await;
    assert_eq!(status, StatusCode::OK);
}

async fn linkedin_is_the_provider_a_request_names_by_default() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.seed(1, t0()).await;
    let (status, plain) = app.api_get("/api/v1/accounts/seed-0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plain["provider"], "linkedin");
    let (status, named) = app
        .api_get("/api/v1/accounts/seed-0?provider=linkedin")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plain, named);
    let (_, list) = app.api_get("/api/v1/accounts?provider=linkedin").await;
    assert_eq!(list["accounts"][0]["provider"], "linkedin");
}

async fn a_connect_link_names_its_provider() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let ask = |body: serde_json::Value| {
        app.browser
            .post(app.url("/api/v1/connect-links"))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
    };
    let named = ask(serde_json::json!({
        "user_id": "ada", "email": "ada@example.com", "provider": "linkedin"
    }))
    .await
    .unwrap();
    assert_eq!(named.status(), StatusCode::OK);
    let body: serde_json::Value = named.json().await.unwrap();
    assert!(
        body["url"].as_str().unwrap().contains("/connect/linkedin?"),
        "{body}"
    );
    let unknown = ask(serde_json::json!({
        "user_id": "ada", "email": "ada@example.com", "provider": "myspace"
    }))
    .await
    .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("\"myspace\" is not configured"),
        "{body}"
    );
}

async fn a_connect_path_of_no_configured_provider_is_not_found() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let link = app.connect_link("ada", "ada@example.com", None).await;
    for path in [
        "/connect/myspace",
        "/connect/My%20Space",
        "/oauth/myspace/callback",
    ] {
        let mut url = app.url(path);
        url.set_query(link.query());
        let answer = app.browser.get(url).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        let page = answer.text().await.unwrap();
        assert!(
            page.contains("connects no network under this address"),
            "{path}: {page}"
        );
    }
    assert_eq!(app.store.count_connect_attempts().await.unwrap(), 0);
}

async fn the_cli_issues_links_for_configured_providers_only() {
    let run = |provider: &str, with_x: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
        command
            .args([
                "connect-link",
                "--user-id",
                "ada",
                "--email",
                "ada@example.com",
            ])
            .args(["--provider", provider])
            .env_clear()
            .env("TOKENKEEPER_HTTP__PUBLIC_URL", "https://keeper.example.com")
            .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", "id")
            .env("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "secret")
            .env(
                "TOKENKEEPER_CONNECT__SIGNING_KEY",
                "0123456789abcdef0123456789abcdef",
            );
        if with_x {
            command
                .env("TOKENKEEPER_PROVIDERS__X__KIND", "x")
                .env("TOKENKEEPER_PROVIDERS__X__CLIENT_ID", "x-client");
        }
        command.output().expect("the tokenkeeper binary runs")
    };
    let refused = run("x", false);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("--provider x is not configured; configured: linkedin"),
        "{said}"
    );
    assert!(refused.stdout.is_empty());
    let issued = run("x", true);
    assert!(issued.status.success(), "{issued:?}");
    let url = url::Url::parse(String::from_utf8(issued.stdout).unwrap().trim()).unwrap();
    assert_eq!(url.path(), "/connect/x");
    let malformed = run("X!", true);
    assert!(!malformed.status.success());
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("--provider"));
}
