//! The overview: alerts first, then accounts by status, the next 60 days, the last 30 days'
//! refresh outcomes, the outbox and the last sweeps.

use super::chart::{stacked, Bar};
use super::render::view;
use super::render::PageError;
use super::sign_in::Operator;
use crate::domain::EnumText;
use crate::domain::{AccountStatus, NotificationStatus, RefreshOutcome, SweepOutcome};
use crate::http::AppState;
use crate::readiness::Verdict;
use crate::store::SweepRun;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use minijinja::context;
use serde::Serialize;

pub const DAYS_AHEAD: i64 = 60;
pub const DAYS_BACK: i64 = 30;

/// One of the success figures (`tokenkeeper report`): what it measures, and its value as shown.
#[derive(Debug, Clone, Serialize)]
pub struct SuccessFigure {
    pub label: String,
    pub value: String,
}

/// Where the overview reads the success figures from: the report's computation in `serve`
/// (`ReportFigures`); without a source the overview shows no such section.
#[async_trait::async_trait]
pub trait SuccessFigures: Send + Sync {
    async fn figures(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<SuccessFigure>>;
}

#[derive(Serialize)]
pub struct Count {
    name: &'static str,
    count: i64,
}

#[derive(Serialize)]
pub struct RunView {
    id: i64,
    started_at: String,
    outcome: &'static str,
    error: Option<String>,
    due: i64,
    refreshed: i64,
    failing: i64,
    needs_reconnect: i64,
    skipped: i64,
}

impl From<&SweepRun> for RunView {
    fn from(run: &SweepRun) -> Self {
        Self {
            id: run.id,
            started_at: shown_time(run.started_at),
            outcome: run.outcome.as_str(),
            error: run.error.clone(),
            due: run.counts.due,
            refreshed: run.counts.refreshed,
            failing: run.counts.failing,
            needs_reconnect: run.counts.needs_reconnect,
            skipped: run.counts.skipped,
        }
    }
}

/// Times on the pages: UTC, to the minute.
pub fn shown_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Outcomes that refreshed nothing and were not a passing check of a working token.
fn failed(outcome: RefreshOutcome) -> bool {
    !matches!(
        outcome,
        RefreshOutcome::Refreshed | RefreshOutcome::AccessTokenWorks
    )
}

pub async fn overview(
    State(app): State<AppState>,
    operator: Operator,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let by_status = app.admin.accounts_by_status().await?;
    let statuses: Vec<Count> = AccountStatus::ALL
        .iter()
        .copied()
        .map(|status| Count {
            name: status.as_str(),
            count: by_status
                .iter()
                .filter(|(s, _)| *s == status)
                .map(|(_, n)| n)
                .sum(),
        })
        .collect();

    let forecast = app.host_api.forecast(today, DAYS_AHEAD, None).await?;
    let ahead: Vec<Bar> = crate::http::forecast::by_day(today, DAYS_AHEAD, &forecast)
        .into_iter()
        .map(|day| Bar {
            label: day.date.format("%m-%d").to_string(),
            first: day.refreshes_due,
            second: day.members_to_act,
        })
        .collect();

    let since = today - Duration::days(DAYS_BACK - 1);
    let outcomes = app.admin.refresh_outcomes_by_day(since).await?;
    let past: Vec<Bar> = (0..DAYS_BACK)
        .map(|d| {
            let of_day = outcomes.iter().filter(|c| c.day == d);
            let (mut ok, mut bad) = (0, 0);
            for count in of_day {
                if failed(count.outcome) {
                    bad += count.attempts;
                } else {
                    ok += count.attempts;
                }
            }
            Bar {
                label: (since + Duration::days(d)).format("%m-%d").to_string(),
                first: ok,
                second: bad,
            }
        })
        .collect();

    let outbox_counts = app.admin.notification_counts().await?;
    let outbox: Vec<Count> = NotificationStatus::ALL
        .iter()
        .copied()
        .map(|status| Count {
            name: status.as_str(),
            count: outbox_counts
                .iter()
                .filter(|(s, _)| *s == status)
                .map(|(_, n)| n)
                .sum(),
        })
        .collect();
    let runs = app.admin.recent_runs(10).await?;

    let mut alerts = Vec::new();
    let readiness = app.readiness.check().await;
    for (check, verdict) in &readiness.checks {
        if let Verdict::Failing(detail) = verdict {
            alerts.push(format!("{check}: {detail}"));
        }
    }
    if let Some(run) = runs.iter().find(|r| r.finished_at.is_some()) {
        if matches!(run.outcome, SweepOutcome::Degraded | SweepOutcome::Failed) {
            alerts.push(format!(
                "the last sweep (run {}) ended {}: {}",
                run.id,
                run.outcome.as_str(),
                run.error.as_deref().unwrap_or("see the log")
            ));
        }
    }
    let misconfigured: i64 = outcomes
        .iter()
        .filter(|c| c.day == DAYS_BACK - 1 && c.outcome == RefreshOutcome::Misconfiguration)
        .map(|c| c.attempts)
        .sum();
    if misconfigured > 0 {
        alerts.push(format!(
            "LinkedIn refused our client {misconfigured} time(s) today: check linkedin.client_id and linkedin.client_secret"
        ));
    }
    let failed_emails = outbox
        .iter()
        .find(|c| c.name == NotificationStatus::Failed.as_str())
        .map_or(0, |c| c.count);
    if failed_emails > 0 {
        alerts.push(format!(
            "{failed_emails} email(s) could not be delivered: see the outbox"
        ));
    }

    let success = match &operator.dashboard.success {
        Some(source) => match source.figures(now).await {
            Ok(figures) => Some(figures),
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "the success figures cannot be computed");
                alerts.push("the success figures cannot be computed: see the log".into());
                None
            }
        },
        None => None,
    };

    Ok(operator.dashboard.templates.page(
        StatusCode::OK,
        "overview.html",
        context! {
            title => "Overview",
            csrf => &operator.csrf,
            alerts,
            statuses => view(&statuses),
            success => view(&success),
            ahead => view(stacked("ahead", "Refreshes due and members who will have to act, per day", &ahead, ["#0a66c2", "#b3261e"])),
            past => view(stacked("past", "Refresh outcomes per day", &past, ["#1e7e34", "#b3261e"])),
            outbox => view(&outbox),
            runs => view(runs.iter().map(RunView::from).collect::<Vec<_>>()),
        },
    ))
}
