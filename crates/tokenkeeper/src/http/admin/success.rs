//! The overview's success figures: the report's own computation over the gauges' window, so
//! the dashboard, `tokenkeeper report --since 30d` and the `tokenkeeper_report_*` gauges agree.

use super::{SuccessFigure, SuccessFigures};
use crate::report::{figures, SuccessReport, GAUGE_WINDOW};
use crate::store::{ReportStore, Window};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub struct ReportFigures {
    pub store: Arc<dyn ReportStore>,
}

#[async_trait::async_trait]
impl SuccessFigures for ReportFigures {
    async fn figures(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<SuccessFigure>> {
        let window = Window {
            since: now - GAUGE_WINDOW.duration(),
            until: now,
        };
        let report = SuccessReport::compute(self.store.as_ref(), window).await?;
        Ok(figures(&report)
            .into_iter()
            .map(|(label, value)| SuccessFigure {
                label: format!("{label} (last 30 days)"),
                value,
            })
            .collect())
    }
}
