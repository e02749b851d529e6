//! The host app's API as a hostile client sees it: the key is checked before anything else,
//! byte for byte; user ids are taken exactly; answers are JSON and never cached.

use crate::backend_tests;
use crate::service_tests;
use crate::support::{spawn_app, TestApp, API_KEY};
use reqwest::StatusCode;
use test_databases::Backend;

backend_tests!(
    a_user_id_with_whitespace_around_it_names_nobody,
    api_answers_are_never_cached,
);

async fn post_connect_link(
    app: &TestApp,
    authorization: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

async fn json_error(response: reqwest::Response) -> serde_json::Value {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    response.json().await.unwrap()
}

service_tests!(the_key_is_checked_before_the_body_is_parsed);
async fn the_key_is_checked_before_the_body_is_parsed() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let wrong = format!("Bearer {API_KEY}x");
    for authorization in [None, Some(wrong.as_str())] {
        for body in ["{not json", "{\"user_id\": 42}", ""] {
            let answer = post_connect_link(&app, authorization, body).await;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{body:?}");
            assert_eq!(json_error(answer).await["error"], "unauthorized");
        }
    }
    // A path the router cannot decode is not looked at before the key either.
    let answer = app
        .browser
        .get(app.url("/api/v1/accounts/%FF"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}

service_tests!(the_key_is_compared_exactly);
async fn the_key_is_compared_exactly() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let body = r#"{"user_id": "u-1", "email": "ada@example.com"}"#;
    let upper = API_KEY.to_uppercase();
    let near_misses = [
        format!("Bearer  {API_KEY}"),
        format!("Bearer \t{API_KEY}"),
        format!("Bearer {upper}"),
        format!("Bearer {}", &API_KEY[..API_KEY.len() - 1]),
        format!("Basic {API_KEY}"),
        API_KEY.to_owned(),
    ];
    for authorization in &near_misses {
        let answer = post_connect_link(&app, Some(authorization), body).await;
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
    }
    let exact = format!("Bearer {API_KEY}");
    let answer = post_connect_link(&app, Some(&exact), body).await;
    assert_eq!(answer.status(), StatusCode::OK);
}

service_tests!(a_malformed_body_gets_the_api_error_shape);
async fn a_malformed_body_gets_the_api_error_shape() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let key = format!("Bearer {API_KEY}");
    let cases = [
        ("{not json", StatusCode::BAD_REQUEST, "invalid_json"),
        (
            "{\"user_id\": \"u-1\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "[1, 2]",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let answer = post_connect_link(&app, Some(&key), body).await;
        assert_eq!(answer.status(), status, "{body:?}");
        assert_eq!(json_error(answer).await["error"], code, "{body:?}");
    }
    let untyped = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .bearer_auth(API_KEY)
        .body(r#"{"user_id": "u-1", "email": "ada@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json_error(untyped).await["error"], "unsupported_media_type");
}

async fn a_user_id_with_whitespace_around_it_names_nobody(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.linked("u-1").await;
    let token = account.token.expose().to_owned();
    for padded in ["u-1%C2%A0", "%20u-1", "u-1%09", "%E2%80%83u-1"] {
        let answer = app
            .browser
            .get(app.url(&format!("/api/v1/accounts/{padded}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{padded}"
        );
        let text = answer.text().await.unwrap();
        assert!(!text.contains(&token), "{padded} returned u-1's token");
        assert!(text.contains("whitespace"), "{padded}: {text}");
    }
    let exact = app
        .browser
        .get(app.url("/api/v1/accounts/u-1"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(exact.status(), StatusCode::OK);

    // Nor can a link be issued for such a spelling, which would later be stored as another id.
    let refused = app
        .request_connect_link("u-1\u{a0}", "ada@example.com", None)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("whitespace"));
}

async fn api_answers_are_never_cached(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("u-1").await;
    let with_token = app
        .browser
        .get(app.url("/api/v1/accounts/u-1"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let link = app
        .request_connect_link("u-2", "bo@example.com", None)
        .await;
    let refused = app
        .browser
        .get(app.url("/api/v1/accounts/u-1"))
        .send()
        .await
        .unwrap();
    for (answer, status) in [
        (with_token, StatusCode::OK),
        (link, StatusCode::OK),
        (refused, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(answer.status(), status);
        assert_eq!(answer.headers()["cache-control"], "no-store");
        assert_eq!(answer.headers()["pragma"], "no-cache");
    }
}
