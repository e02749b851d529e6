//! The API's door: the Bearer key is checked before anything else of the request is looked
//! at, so a caller without the key learns nothing from how its body or path is parsed.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

/// Middleware in front of every API route.
pub async fn require_api_key(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match authorize(&app, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// Whether the request bears the API key, for routes open to anyone that tell a keyed
/// caller more.
pub fn bears_api_key(app: &AppState, headers: &HeaderMap) -> bool {
    authorize(app, headers).is_ok()
}

fn authorize(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = app.config.api.api_key.as_ref().ok_or(ApiError::Disabled)?;
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::Unauthorized);
    };
    // The key is compared byte for byte as sent: no trimming, no case folding.
    let presented = value
        .as_bytes()
        .strip_prefix(b"Bearer ")
        .ok_or(ApiError::Unauthorized)?;
    // Comparing digests keeps the comparison's timing independent of the key's content.
    if Sha256::digest(presented) == Sha256::digest(expected.expose_secret().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}
