//! The served OpenAPI document states what the server enforces, checked over real sockets:
//! each refusal the server answers is declared on its route with the error body's schema, and
//! each field's documented rule is the one the server applies, on both sides of its bound.
//! `schemathesis.rs` explores the same ground with generated requests; these are the cases it
//! found, kept as plain tests.

use crate::service_tests;
use crate::support::{spawn, Setup, TestApp, API_KEY, RETURN_ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use test_databases::Backend;

service_tests!(
    every_refusal_the_server_answers_is_declared_on_its_route,
    the_documented_rules_are_the_ones_the_server_applies,
);

async fn app() -> Option<TestApp> {
    spawn(
        Backend::Sqlite,
        Setup::default().var("HTTP__BODY_LIMIT_BYTES", 1024),
    )
    .await
}

async fn document(app: &TestApp) -> Value {
    let (status, doc) = app.api_get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// Every operation of the document: (method, path template).
fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    out
}

/// `status` is declared on the operation, answering the error body's schema.
fn assert_declared(doc: &Value, method: &Method, path: &str, status: StatusCode) {
    let operation = &doc["paths"][path][method.as_str().to_lowercase()];
    let answer = &operation["responses"][status.as_str()];
    assert_eq!(
        answer["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
        "{method} {path} answers {status}, which its document does not declare: {operation}"
    );
}

async fn every_refusal_the_server_answers_is_declared_on_its_route() {
    let Some(app) = app().await else {
        return;
    };
    app.linked("ada").await;
    let doc = document(&app).await;
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let client = reqwest::Client::new();
    for (method, template) in operations(&doc) {
        let path = template.replace("{user_id}", "ada");
        // Without the key: 401, whatever else the request holds.
        let anonymous = client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        assert_declared(&doc, &method, &template, StatusCode::UNAUTHORIZED);

        if template.contains("{user_id}") {
            // A user id with a control character.
            let path = template.replace("{user_id}", "a%01b");
            let (status, body) = app.api_request(method.clone(), &path).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}");
            assert_eq!(body["error"], "invalid_request");
            assert_declared(&doc, &method, &template, status);
        }
        if doc["paths"][&template][method.as_str().to_lowercase()]["requestBody"].is_object() {
            let keyed = || {
                client
                    .request(method.clone(), app.url(&path))
                    .bearer_auth(API_KEY)
            };
            let cases = [
                (keyed().body("{}"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
                (
                    keyed().header("content-type", "application/json").body("{"),
                    StatusCode::BAD_REQUEST,
                ),
                (
                    keyed().json(&json!({"padding": "x".repeat(2048)})),
                    StatusCode::PAYLOAD_TOO_LARGE,
                ),
            ];
            for (request, expected) in cases {
                let answer = request.send().await.unwrap();
                assert_eq!(answer.status(), expected, "{method} {path}");
                assert_declared(&doc, &method, &template, expected);
            }
        }
    }
    // An empty cursor is no cursor this service issued: refused, and outside the document's
    // rule for it.
    let (status, _) = app.api_get("/api/v1/accounts?cursor=").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_declared(&doc, &Method::GET, "/api/v1/accounts", status);
    let cursor = parameter(&doc, "/api/v1/accounts", "cursor");
    assert_eq!(cursor["schema"]["minLength"], 1, "{cursor}");
}

fn parameter<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    let operation = &doc["paths"][path]["get"];
    operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{path} has no parameter {name}: {operation}"))
}

async fn the_documented_rules_are_the_ones_the_server_applies() {
    let Some(app) = app().await else {
        return;
    };
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];

    // A user id is 1 to 255 characters, counted as JSON Schema counts them.
    let user_id = &schemas["UserId"];
    assert_eq!(user_id["maxLength"], 255, "{user_id}");
    assert_eq!(user_id["minLength"], 1, "{user_id}");
    assert!(user_id["pattern"].is_string(), "{user_id}");
    let link = |user_id: String| {
        app.browser
            .post(app.url("/api/v1/connect-links"))
            .bearer_auth(API_KEY)
            .json(&json!({"user_id": user_id, "email": "ada@example.com"}))
            .send()
    };
    let longest = "\u{e9}".repeat(255);
    assert_eq!(link(longest).await.unwrap().status(), StatusCode::OK);
    let too_long = "\u{e9}".repeat(256);
    let refused = link(too_long).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for refused in ["", " ada", "ada\u{a0}", "a\u{85}b"] {
        let answer = link(refused.to_owned()).await.unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{refused:?}"
        );
    }

    // The path's user id is the same schema.
    for path in [
        "/api/v1/accounts/{user_id}",
        "/api/v1/accounts/{user_id}/refresh",
    ] {
        let item = &doc["paths"][path];
        let operation = item
            .get("get")
            .or_else(|| item.get("post"))
            .expect("an operation");
        assert_eq!(
            operation["parameters"][0]["schema"]["$ref"],
            "#/components/schemas/UserId"
        );
    }

    // The list's filters, with the bounds the server checks.
    let limit = &parameter(&doc, "/api/v1/accounts", "limit")["schema"];
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&json!(1), &json!(1000))
    );
    for (query, expected) in [
        ("limit=1000", StatusCode::OK),
        ("limit=1001", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=", StatusCode::UNPROCESSABLE_ENTITY),
        ("due_before=2026-03-02T08:00:00Z", StatusCode::OK),
        ("due_before=", StatusCode::UNPROCESSABLE_ENTITY),
        ("status=needs_reconnect", StatusCode::OK),
        ("status=", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, body) = app.api_get(&format!("/api/v1/accounts?{query}")).await;
        assert_eq!(status, expected, "{query}: {body}");
    }
    let due_before = &parameter(&doc, "/api/v1/accounts", "due_before")["schema"];
    assert_eq!(due_before["format"], "date-time", "{due_before}");
    let status = &parameter(&doc, "/api/v1/accounts", "status")["schema"]["$ref"];
    let names = &schemas["AccountStatus"]["enum"];
    assert_eq!(status, "#/components/schemas/AccountStatus");
    assert_eq!(
        names,
        &json!(["active", "refresh_failing", "needs_reconnect", "expired"])
    );

    // The forecast's days: required, 1 to 365.
    let days = parameter(&doc, "/api/v1/forecast", "days");
    assert_eq!(days["required"], true, "{days}");
    assert_eq!(
        (&days["schema"]["minimum"], &days["schema"]["maximum"]),
        (&json!(1), &json!(365))
    );
    for (query, expected) in [
        ("?days=365", StatusCode::OK),
        ("?days=366", StatusCode::UNPROCESSABLE_ENTITY),
        ("", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, _) = app.api_get(&format!("/api/v1/forecast{query}")).await;
        assert_eq!(status, expected, "{query}");
    }

    // return_to: the served document names this deployment's allowed origins.
    let return_to = &schemas["ConnectLinkRequest"]["properties"]["return_to"];
    let pattern = return_to["pattern"].as_str().unwrap_or_default();
    assert!(
        pattern.contains(&RETURN_ORIGIN.replace('.', r"\.")),
        "{return_to}"
    );
    let with_return = |return_to: &str| {
        app.browser
            .post(app.url("/api/v1/connect-links"))
            .bearer_auth(API_KEY)
            .json(&json!({"user_id": "ada", "email": "ada@example.com", "return_to": return_to}))
            .send()
    };
    let allowed = format!("{RETURN_ORIGIN}/settings?tab=linkedin");
    assert_eq!(
        with_return(&allowed).await.unwrap().status(),
        StatusCode::OK
    );
    let elsewhere = with_return("https://elsewhere.example.com/").await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The import's body is one object with the row's required keys; `null` is not one.
    let row = &schemas["ImportRow"];
    assert_eq!(row["type"], "object", "{row}");
    assert_eq!(row["additionalProperties"], false, "{row}");
    assert_eq!(
        row["required"],
        json!(["user_id", "email", "access_token"]),
        "{row}"
    );
    let null = app
        .browser
        .post(app.url("/api/v1/accounts"))
        .bearer_auth(API_KEY)
        .json(&Value::Null)
        .send()
        .await
        .unwrap();
    assert_eq!(null.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
