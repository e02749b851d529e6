//! JSON request bodies of the API, read only after the key was checked, with refusals in the
//! API's own error shape rather than the framework's plain text.

use super::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(refusal(rejection)),
        }
    }
}

fn refusal(rejection: JsonRejection) -> ApiError {
    let (code, message) = match &rejection {
        JsonRejection::MissingJsonContentType(_) => (
            "unsupported_media_type",
            "the body must be JSON, sent with Content-Type: application/json".to_owned(),
        ),
        JsonRejection::BytesRejection(_) if rejection.status().as_u16() == 413 => (
            "body_too_large",
            "the body is larger than this service accepts (http.body_limit_bytes)".to_owned(),
        ),
        JsonRejection::BytesRejection(_) => {
            ("unreadable_body", "the body could not be read".to_owned())
        }
        JsonRejection::JsonSyntaxError(_) => ("invalid_json", rejection.body_text()),
        _ => ("invalid_request", rejection.body_text()),
    };
    ApiError::Body {
        status: rejection.status(),
        code,
        message,
    }
}
