//! The host API's OpenAPI 3.1 document, derived from the handlers' annotations and the types
//! they answer with as the router registers them (`http::host_api`), served at
//! `/api/v1/openapi.json`. It sits behind the API key like the rest of `/api`: it is for the
//! host app's developers, and keeping it there leaves the public surface (connect link,
//! callback, health) as small as it was.
//!
//! The document states what the server enforces, so that a client generated from it, or a
//! gateway validating against it, agrees with the server: the answers every route shares (the
//! key's 401, a body's 400, 413 and 415) are declared here once for every route, each field's
//! rule as a schema (`UserIdSchema`), and the served copy carries this deployment's allowed
//! `return_to` origins. `tests/service/api/schemathesis.rs` holds the server to it.

use super::AppState;
use crate::domain::{AccountStatus, EnumText, ProviderName, UserId, PROVIDER_NAME_MAX};
use axum::extract::State;
use axum::Json;
use serde_json::json;
use std::borrow::Cow;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokenkeeper host API",
        description = "Connect links, tokens and account state for the host application. Every route needs `Authorization: Bearer <api.api_key>`."
    ),
    modifiers(&BearerKey),
)]
pub struct HostApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A JSON Schema literal as utoipa's type.
fn schema(value: serde_json::Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("a valid schema literal")
}

/// The host app's id for a user, as `UserId::parse` takes it: the path parameter of every
/// account route and the field of the bodies that name a user.
pub struct UserIdSchema;

impl utoipa::PartialSchema for UserIdSchema {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "string",
            "description": "The host app's id for the user: 1 to 255 characters, taken exactly as sent; no control characters, and no whitespace at either end.",
            "minLength": 1,
            "maxLength": UserId::MAX_LEN,
            "pattern": UserId::PATTERN,
        }))
    }
}

impl utoipa::ToSchema for UserIdSchema {
    fn name() -> Cow<'static, str> {
        "UserId".into()
    }
}

/// A configured provider's name, as `?provider=` and the bodies take it.
pub struct ProviderNameSchema;

impl utoipa::PartialSchema for ProviderNameSchema {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "string",
            "description": "A configured provider's name (`[providers.NAME]`): a lowercase letter, then lowercase letters, digits or underscores. `linkedin` when absent.",
            "minLength": 1,
            "maxLength": PROVIDER_NAME_MAX,
            "pattern": format!("^[a-z][a-z0-9_]{{0,{}}}$", PROVIDER_NAME_MAX - 1),
            "default": ProviderName::LINKEDIN,
        }))
    }
}

impl utoipa::ToSchema for ProviderNameSchema {
    fn name() -> Cow<'static, str> {
        "ProviderName".into()
    }
}

/// An account's status, as the API writes it and `?status=` takes it.
pub struct AccountStatusSchema;

impl utoipa::PartialSchema for AccountStatusSchema {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = AccountStatus::ALL.iter().map(|s| s.as_str()).collect();
        schema(json!({"type": "string", "enum": names}))
    }
}

impl utoipa::ToSchema for AccountStatusSchema {
    fn name() -> Cow<'static, str> {
        "AccountStatus".into()
    }
}

fn error_answer(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// What every route may answer whatever its handler does: without the key, 401 (from
/// `api_key.rs`, before anything else is read); 503 when the API has no key configured; 408
/// from the timeout layer; for a JSON body, what `json_body.rs` refuses.
pub(super) fn declare_shared_answers(document: &mut utoipa::openapi::OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            declare_on(operation);
        }
    }
}

fn declare_on(operation: &mut Operation) {
    let answers = &mut operation.responses.responses;
    let unauthorized = ResponseBuilder::new()
        .description("`unauthorized`: the `Authorization: Bearer` key is missing or wrong")
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(schema(json!({"type": "string", "enum": ["Bearer"]})))
                .description(Some("`Bearer`"))
                .build(),
        )
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    answers
        .entry("401".into())
        .or_insert_with(|| unauthorized.into());
    // Before the key is even compared: a deployment without `api.api_key` has no host API.
    let disabled = "`api_disabled`: the host API is off, since no `api.api_key` is configured";
    match answers
        .entry("503".into())
        .or_insert_with(|| error_answer(disabled))
    {
        RefOr::T(answer) if !answer.description.contains("api_disabled") => {
            answer.description = format!("{}; or {disabled}", answer.description);
        }
        _ => {}
    }
    // The timeout layer answers with a bare status, whatever the route.
    answers.entry("408".into()).or_insert_with(|| {
        ResponseBuilder::new()
            .description("the request took longer than `http.request_timeout_seconds` (no body)")
            .build()
            .into()
    });
    if operation.request_body.is_some() {
        for (status, description) in [
            ("400", "`invalid_json`: the body is not JSON"),
            (
                "413",
                "`body_too_large`: the body is larger than `http.body_limit_bytes`",
            ),
            (
                "415",
                "`unsupported_media_type`: the body was not sent with `Content-Type: application/json`",
            ),
        ] {
            answers
                .entry(status.into())
                .or_insert_with(|| error_answer(description));
        }
    }
}

/// This document. The copy served names this deployment's allowed `return_to` origins.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")),
    security(("api_key" = [])),
)]
pub async fn openapi_json(State(app): State<AppState>) -> Json<serde_json::Value> {
    let providers: Vec<&str> = app
        .providers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let mut document = served_document(&app.config.connect.allowed_return_origins, &providers);
    name_forecast_providers(&mut document, &providers);
    Json(document)
}

/// The forecast's `provider` parameter is written inline, not as the shared `ProviderName`
/// schema (which `served_document` lists the providers in): it gets the same list.
fn name_forecast_providers(document: &mut serde_json::Value, providers: &[&str]) {
    let names = serde_json::json!(providers);
    let forecast = document
        .pointer_mut("/paths/~1api~1v1~1forecast/get/parameters")
        .and_then(|p| p.as_array_mut());
    for parameter in forecast.into_iter().flatten() {
        if parameter["name"] == "provider" {
            parameter["schema"]["enum"] = names.clone();
        }
    }
}

/// The document as `/api/v1/openapi.json` serves it, for a deployment that allows `origins`
/// as `return_to` and has configured `providers`.
pub(super) fn served_document(origins: &[url::Origin], providers: &[&str]) -> serde_json::Value {
    let mut document = super::openapi_document();
    let origins: Vec<String> = origins
        .iter()
        .filter(|origin| origin.is_tuple())
        .map(|origin| origin.ascii_serialization())
        .collect();
    if let Some(RefOr::T(Schema::Object(request))) = document
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("ConnectLinkRequest"))
    {
        request
            .properties
            .insert("return_to".into(), return_to_schema(&origins));
    }
    let mut document = serde_json::to_value(document).expect("the document serializes");
    spell_links_as_openapi_does(&mut document);
    // A provider name is one of this deployment's: any other is refused (422).
    if let Some(provider) = document["components"]["schemas"]["ProviderName"].as_object_mut() {
        provider.insert("enum".into(), json!(providers));
    }
    document
}

/// utoipa 5 writes a Link Object's fields as Rust names them (`operation_id`); OpenAPI, and
/// every tool that follows links, reads `operationId`, `operationRef` and `requestBody`.
fn spell_links_as_openapi_does(document: &mut serde_json::Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let Some(answers) = operation["responses"].as_object_mut() else {
            continue;
        };
        let links = answers
            .values_mut()
            .filter_map(|answer| answer.get_mut("links")?.as_object_mut())
            .flat_map(|links| links.values_mut())
            .filter_map(serde_json::Value::as_object_mut);
        for link in links {
            for (rust, openapi) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(rust) {
                    link.insert(openapi.into(), value);
                }
            }
        }
    }
}

/// `return_to` on one of `origins` (a URL whose origin is one of them), or null.
fn return_to_schema(origins: &[String]) -> RefOr<Schema> {
    if origins.is_empty() {
        return schema(json!({
            "type": "null",
            "description": "No return URL is allowed here: `connect.allowed_return_origins` is empty.",
        }));
    }
    let alternatives: Vec<String> = origins.iter().map(|o| regex_literal(o)).collect();
    schema(json!({
        "type": ["string", "null"],
        "description": "Where the browser goes once connected: a URL on one of `connect.allowed_return_origins`.",
        "pattern": format!("^(?:{})(?:[/?#].*)?$", alternatives.join("|")),
    }))
}

/// `text` matched literally by an ECMA-262 (and Python) regular expression. Only syntax
/// characters are escaped: an escaped letter or `:` is an error in ECMA-262's unicode mode.
fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if r"^$\.*+?()[]{}|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{api_routes, openapi_document};
    use super::*;

    #[test]
    fn every_api_route_says_it_needs_the_key() {
        let doc = serde_json::to_value(openapi_document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let routes = api_routes();
        assert!(routes.contains(&(axum::http::Method::POST, "/api/v1/connect-links".into())));
        for (method, path) in routes {
            let method = method.as_str().to_ascii_lowercase();
            let operation = &doc["paths"][&path][&method];
            assert!(
                operation["security"].is_array(),
                "{method} {path} does not say it needs the API key"
            );
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path} does not declare its 401"
            );
            let unavailable = operation["responses"]["503"]["description"].as_str();
            assert!(
                unavailable.is_some_and(|d| d.contains("api_disabled")),
                "{method} {path} does not declare the 503 of an API without a key"
            );
            assert!(
                operation["responses"]["408"].is_object(),
                "{method} {path} does not declare the timeout's 408"
            );
        }
    }

    #[test]
    fn links_name_their_target_as_openapi_spells_it() {
        let doc = served_document(&[], &["linkedin"]);
        let link = &doc["paths"]["/api/v1/accounts"]["post"]["responses"]["201"]["links"]["read"];
        assert_eq!(link["operationId"], "account", "{link}");
        assert!(link.get("operation_id").is_none(), "{link}");
        let targets: Vec<&str> = ["get", "post", "delete"]
            .iter()
            .flat_map(|method| {
                doc["paths"]
                    .as_object()
                    .unwrap()
                    .values()
                    .filter_map(move |item| item[method]["operationId"].as_str())
            })
            .collect();
        for id in ["account", "refresh_now", "report_invalid", "delete_account"] {
            assert!(targets.contains(&id), "no operation {id}: {targets:?}");
        }
    }

    #[test]
    fn return_origins_become_a_pattern_that_takes_nothing_else() {
        let RefOr::T(Schema::Object(schema)) =
            return_to_schema(&["https://app.example.com".into(), "http://[::1]:8080".into()])
        else {
            panic!("an inline schema");
        };
        assert_eq!(
            schema.pattern.as_deref(),
            Some(r"^(?:https://app\.example\.com|http://\[::1\]:8080)(?:[/?#].*)?$")
        );
    }
}
