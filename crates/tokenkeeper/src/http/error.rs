//! Where errors become responses. Browser-facing errors are HTML pages that say what happened
//! and what to do; API errors are JSON. Internal details are logged once, never shown.

use super::pages::page;
use crate::connect_link::LinkError;
use crate::provider::ProviderError;
use crate::store::StoreError;
use crate::telemetry::error_chain;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Errors of the browser-facing connect flow.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("bad connect link: {0}")]
    Link(#[from] LinkError),
    #[error("the sign-in attempt is unknown, expired or already used")]
    UnknownState,
    #[error("the sign-in attempt was started in another browser")]
    OtherBrowser,
    #[error("the connect link has already been used")]
    LinkUsed,
    #[error("the account is linked to another member of the network")]
    MemberChanged,
    #[error("the callback is missing {0}")]
    MissingParameter(&'static str),
    #[error("the provider returned an error to the callback: {0}")]
    LinkedInRefused(String),
    #[error("the provider failed during {step}")]
    LinkedIn {
        step: &'static str,
        #[source]
        source: ProviderError,
    },
    #[error("the provider's answer is unusable: {0}")]
    UnusableProfile(String),
    #[error("no provider of this name is configured")]
    UnknownProvider,
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.page_for("LinkedIn")
    }
}

impl PageError {
    /// The page a member sees, naming the network they were connecting ("LinkedIn", "X").
    pub fn page_for(self, network: &str) -> Response {
        let page = |status, title: &str, text: &str| {
            page(
                status,
                &title.replace("{network}", network),
                &text.replace("{network}", network),
            )
        };
        match &self {
            PageError::Link(LinkError::Expired) => page(
                StatusCode::GONE,
                "This link has expired",
                "Connect links are only valid for a short time. Go back to the application and start connecting {network} again.",
            ),
            PageError::Link(LinkError::ReturnNotAllowed) => page(
                StatusCode::BAD_REQUEST,
                "This link is not valid",
                "The link points back to a site this service does not trust. Nothing was changed.",
            ),
            PageError::Link(_) => page(
                StatusCode::BAD_REQUEST,
                "This link is not valid",
                "The link was damaged or altered. Go back to the application and use the connect button again. Nothing was changed.",
            ),
            PageError::UnknownState | PageError::MissingParameter(_) => page(
                StatusCode::BAD_REQUEST,
                UNCOMPLETABLE_SIGN_IN_TITLE,
                "The sign-in attempt is unknown, has expired or was already used. Start connecting {network} again from the application. Nothing was changed.",
            ),
            PageError::OtherBrowser => page(
                StatusCode::BAD_REQUEST,
                "Open the link in the browser you started in",
                "This sign-in was started in another browser, and for your safety it can only be finished there. Start connecting {network} again from the application, in this browser. Nothing was changed.",
            ),
            PageError::LinkUsed => page(
                StatusCode::GONE,
                "This link has already been used",
                "This connect link has already connected a {network} account, and each link works once. To connect again, start again from the application. Nothing was changed.",
            ),
            PageError::MemberChanged => page(
                StatusCode::CONFLICT,
                "Sign in to {network} as the connected account",
                "This application is connected to a different {network} account than the one you signed in with. Sign out of {network}, sign in as the account that is connected, and open the link again. To connect another {network} account instead, ask the application to allow the change. Nothing was changed.",
            ),
            PageError::LinkedInRefused(_) => page(
                StatusCode::BAD_REQUEST,
                "{network} did not allow the connection",
                "{network} reported a problem with this request. Try again later; if it keeps happening, contact the application's support. Nothing was changed.",
            ),
            PageError::LinkedIn { .. } | PageError::UnusableProfile(_) => {
                tracing::warn!(error = %error_chain(&self), "connect flow failed at {network}");
                page(
                    StatusCode::BAD_GATEWAY,
                    "{network} is not answering properly",
                    "We could not complete the connection with {network}. Nothing was changed: try again in a few minutes.",
                )
            }
            PageError::UnknownProvider => page(
                StatusCode::NOT_FOUND,
                "This page does not exist",
                "This service connects no network under this address. Go back to the application and use its connect button. Nothing was changed.",
            ),
            PageError::Store(_) => {
                tracing::error!(error = %error_chain(&self), "connect flow failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not save the connection. Try again in a few minutes.",
                )
            }
        }
    }
}

/// Every error of the API as its document describes it: the shape `ApiError` answers in.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code, e.g. `not_found`, `invalid_request`, `claimed`.
    pub error: String,
    /// What happened, for a person.
    pub message: String,
}

/// Errors of the host app's API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong API key")]
    Unauthorized,
    #[error("the API is disabled: no api.api_key is configured")]
    Disabled,
    #[error("{0}")]
    Invalid(String),
    /// The body is not what the route reads: not JSON, too large, or the wrong shape.
    #[error("{message}")]
    Body {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("not found")]
    NotFound,
    /// The request is valid but loses against what is stored.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// LinkedIn did not give the answer the request depends on.
    #[error("LinkedIn could not be asked about the token; try again later")]
    LinkedIn(#[source] ProviderError),
    /// A request the API understood and declines, with its own status and code.
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Store(unreadable @ StoreError::SealedToken { .. }) = &self {
            return token_unreadable(unreadable);
        }
        let (status, code) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Disabled => (StatusCode::SERVICE_UNAVAILABLE, "api_disabled"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            ApiError::Body { status, code, .. } | ApiError::Refused { status, code, .. } => {
                (*status, *code)
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            ApiError::LinkedIn(_) => {
                tracing::warn!(error = %error_chain(&self), "API request failed at LinkedIn");
                (StatusCode::BAD_GATEWAY, "linkedin_failed")
            }
            ApiError::Store(_) => {
                tracing::error!(error = %error_chain(&self), "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        let mut response = (
            status,
            Json(json!({"error": code, "message": self.to_string()})),
        )
            .into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// An account whose stored tokens do not open (sealed for another row, under a key that is
/// gone, plaintext where it is refused, empty) is never answered with a token. The host app is
/// told which account and column, as the log is; never the stored value.
fn token_unreadable(unreadable: &StoreError) -> Response {
    tracing::error!(error = %error_chain(unreadable), "an account's stored tokens cannot be read; not serving them");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({
            "error": "token_unreadable",
            "message": format!("the stored tokens cannot be read, so none is served: {unreadable}"),
        })),
    )
        .into_response()
}

/// The title of the page a callback without a known sign-in attempt gets; the doctor looks for
/// it to tell our callback from another server's answer.
pub const UNCOMPLETABLE_SIGN_IN_TITLE: &str = "This sign-in cannot be completed";

pub async fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address.",
    )
}
