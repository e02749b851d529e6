//! Sweep runs and the outbox, with a retry for a delivery the worker gave up on.

use super::login::CsrfOnly;
use super::overview::{shown_time, RunView};
use super::render::view;
use super::render::PageError;
use super::sign_in::Operator;
use crate::domain::EnumText;
use crate::domain::NotificationStatus;
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Serialize;

pub async fn runs(State(app): State<AppState>, operator: Operator) -> Result<Response, PageError> {
    let runs = app.admin.recent_runs(100).await?;
    Ok(operator.dashboard.templates.page(
        StatusCode::OK,
        "runs.html",
        context! {
            title => "Sweep runs",
            csrf => &operator.csrf,
            runs => view(runs.iter().map(RunView::from).collect::<Vec<_>>()),
        },
    ))
}

#[derive(Serialize)]
struct Failed {
    id: i64,
    account_id: i64,
    user_id: String,
    kind: String,
    attempts: i32,
    last_error: Option<String>,
    created_at: String,
}

pub async fn outbox(
    State(app): State<AppState>,
    operator: Operator,
) -> Result<Response, PageError> {
    let counts = app.admin.notification_counts().await?;
    let counts: Vec<_> = NotificationStatus::ALL
        .iter()
        .copied()
        .map(|status| {
            let count: i64 = counts
                .iter()
                .filter(|(s, _)| *s == status)
                .map(|(_, n)| n)
                .sum();
            context! { name => status.as_str(), count }
        })
        .collect();
    let failed: Vec<Failed> = app
        .admin
        .failed_deliveries(100)
        .await?
        .into_iter()
        .map(|f| Failed {
            id: f.id,
            account_id: f.account_id,
            user_id: f.user_id,
            kind: f.kind,
            attempts: f.attempts,
            last_error: f.last_error,
            created_at: shown_time(f.created_at),
        })
        .collect();
    Ok(operator.dashboard.templates.page(
        StatusCode::OK,
        "outbox.html",
        context! { title => "Outbox", csrf => &operator.csrf, counts, failed => view(&failed) },
    ))
}

pub async fn retry(
    State(app): State<AppState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    if let Err(refused) = operator.check(&form.csrf) {
        return Ok(refused.into_response());
    }
    if app.admin.retry_delivery(id, app.clock.now()).await? {
        tracing::info!(
            notification_id = id,
            "failed delivery queued again from the dashboard"
        );
    }
    Ok(Redirect::to("/admin/outbox").into_response())
}
