//! `GET /api/v1/forecast?provider=NAME`: the forecast of one provider's accounts, on every
//! backend, with accounts of LinkedIn and X due the same day; without `provider`, every
//! provider's, as before; a provider that is not configured is refused by name; and the
//! OpenAPI document declares the parameter with this deployment's provider names.

use crate::backend_tests;
use crate::storage::rules::linked;
use crate::support::{spawn, t0, Setup};
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;
use test_databases::Backend;
use tokenkeeper::domain::ProviderName;

backend_tests!(the_forecast_narrows_to_the_named_provider);

/// The day-50 entry of a five-day forecast from day 48: (refreshes due, no refresh token).
fn day_fifty(body: &Value) -> (i64, i64) {
    let day = &body["days"][2];
    assert_eq!(day["date"], "2026-04-21", "{body}");
    let count = |key: &str| day[key].as_i64().unwrap();
    (count("refreshes_due"), count("no_refresh_token"))
}

async fn the_forecast_narrows_to_the_named_provider(backend: Backend) {
    let setup = Setup::default()
        .var("PROVIDERS__X__KIND", "x")
        .var("PROVIDERS__X__CLIENT_ID", "x-app");
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    // Due on day 50: two LinkedIn accounts through the connect flow; on X one with a
    // refresh token and one without.
    app.linked("ada").await;
    app.linked("bob").await;
    let x = ProviderName::parse("x").unwrap();
    for (user, refresh) in [("carol", true), ("dave", false)] {
        app.store
            .save_linked_account(&linked(user, t0(), refresh).through(x.clone()))
            .await
            .unwrap();
    }
    app.at(t0() + Duration::days(48));

    for (query, expected) in [
        ("", (3, 1)),
        ("&provider=linkedin", (2, 0)),
        ("&provider=x", (1, 1)),
    ] {
        let (status, body) = app
            .api_get(&format!("/api/v1/forecast?days=5{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(day_fifty(&body), expected, "{query}");
    }
    for (provider, says) in [
        (
            "google",
            "provider \"google\" is not configured; configured: linkedin, x",
        ),
        ("X", "a provider name is a lowercase letter"),
    ] {
        let path = format!("/api/v1/forecast?days=5&provider={provider}");
        let (status, body) = app.api_get(&path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{provider}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(says), "{provider}: {body}");
    }

    let (_, doc) = app.api_get("/api/v1/openapi.json").await;
    let parameters = doc["paths"]["/api/v1/forecast"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let provider = parameters
        .iter()
        .find(|p| p["name"] == "provider")
        .expect("the forecast declares `provider`");
    assert_eq!(provider["in"], "query");
    assert_ne!(provider["required"], true, "{provider}");
    assert_eq!(
        provider["schema"]["pattern"], "^[a-z][a-z0-9_]{0,31}$",
        "{provider}"
    );
    // The served copy lists this deployment's providers, here and in the shared schema.
    let configured = serde_json::json!(["linkedin", "x"]);
    assert_eq!(provider["schema"]["enum"], configured, "{provider}");
    assert_eq!(
        doc["components"]["schemas"]["ProviderName"]["enum"],
        configured
    );
}
