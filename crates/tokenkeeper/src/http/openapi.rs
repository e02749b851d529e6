//! The host API's OpenAPI 3.1 document, derived from the handlers' annotations and the types
//! they answer with as the router registers them (`http::host_api`), served at `/api/v1/openapi.json`. It sits behind the API key like the rest
//! of `/api`: it is for the host app's developers, and keeping it there leaves the public
//! surface (connect link, callback, health) as small as it was.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API")),
    security(("api_key" = [])),
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(super::openapi_document())
}

#[cfg(test)]
mod tests {
    use super::super::{api_routes, openapi_document};

    #[test]
    fn every_api_route_says_it_needs_the_key() {
        let doc = serde_json::to_value(openapi_document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let routes = api_routes();
        assert!(routes.contains(&(axum::http::Method::POST, "/api/v1/connect-links".into())));
        for (method, path) in routes {
            let method = method.as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][&path][&method]["security"].is_array(),
                "{method} {path} does not say it needs the API key"
            );
        }
    }
}
