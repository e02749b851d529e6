//! `/healthz` answers `ok` to GET, and to nothing else.

use crate::service_tests;
use crate::support::spawn_app;
use reqwest::{Method, StatusCode};
use test_databases::Backend;

service_tests!(healthz_answers_ok_to_get_only);
async fn healthz_answers_ok_to_get_only() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let answer = app.browser.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.text().await.unwrap(), "ok");

    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let answer = app
            .browser
            .request(method.clone(), app.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_ne!(answer.text().await.unwrap(), "ok", "{method}");
    }
}
