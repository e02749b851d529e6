//! The report for scripts: the same figures as the text, under their field names, times in
//! RFC 3339, the share as a ratio and the median in seconds (`null` when undefined). When
//! accounts of more than one provider exist, `by_provider` gives each one's figures; with one
//! provider the totals are its figures and the report reads as it always has.

use super::providers::{several_providers, ByProvider};
use super::SuccessReport;
use serde::Serialize;

#[derive(Serialize)]
struct WithProviders<'a> {
    #[serde(flatten)]
    total: &'a SuccessReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    by_provider: Option<&'a ByProvider>,
}

pub fn render_json(report: &SuccessReport, by_provider: &ByProvider) -> String {
    let shown = WithProviders {
        total: report,
        by_provider: several_providers(by_provider).then_some(by_provider),
    };
    serde_json::to_string_pretty(&shown).expect("a report is plain data")
}
