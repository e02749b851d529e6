//! `/readyz`, on the public listener where load balancers look: 200 or 503 for anyone, with
//! a body that says only that; the report naming each check only for a caller with the API
//! key, and on the metrics listener. Whatever the number of callers, the database is asked at
//! most once a second (`readiness/database.rs`), so the route needs no rate limit.

use super::api_key::bears_api_key;
use super::AppState;
use crate::readiness::{Readiness, ReadinessReport};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which workers are off and why is for the operator, not for anyone who asks.
pub async fn public(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let report = app.readiness.check().await;
    if bears_api_key(&app, &headers) {
        return in_full(report);
    }
    (status(&report), axum::Json(json!({"ready": report.ready}))).into_response()
}

/// On the metrics listener, for the operators' network alone.
pub async fn private(readiness: Readiness) -> Response {
    in_full(readiness.check().await)
}

fn in_full(report: ReadinessReport) -> Response {
    (status(&report), axum::Json(report)).into_response()
}

fn status(report: &ReadinessReport) -> StatusCode {
    if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
