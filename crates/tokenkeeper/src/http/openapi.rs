//! The host API's OpenAPI 3.1 document, derived from the handlers' annotations and the types
//! they answer with, served at `/api/v1/openapi.json`. It sits behind the API key like the rest
//! of `/api`: it is for the host app's developers, and keeping it there leaves the public
//! surface (connect link, callback, health) as small as it was.

use super::{account_actions, account_list, api, api_import, forecast};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokenkeeper host API",
        description = "Connect links, tokens and account state for the host application. Every route needs `Authorization: Bearer <api.api_key>`."
    ),
    paths(
        api::create_connect_link,
        api::account,
        api_import::import_account,
        account_list::list_accounts,
        account_actions::delete_account,
        account_actions::refresh_now,
        account_actions::report_invalid,
        forecast::forecast,
        openapi_json,
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

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API")),
    security(("api_key" = [])),
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(HostApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::super::api_routes;
    use super::HostApiDoc;
    use utoipa::OpenApi;

    #[test]
    fn every_api_route_is_in_the_document() {
        let doc = serde_json::to_value(HostApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut documented = 0;
        for (method, path, _) in api_routes() {
            let method = method.as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][path][&method].is_object(),
                "{method} {path} is served but missing from the OpenAPI document"
            );
            assert!(
                doc["paths"][path][&method]["security"].is_array(),
                "{method} {path} does not say it needs the API key"
            );
            documented += 1;
        }
        // And nothing is documented that is not served.
        let operations: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|ops| ops.as_object().unwrap().len())
            .sum();
        assert_eq!(operations, documented);
    }
}
