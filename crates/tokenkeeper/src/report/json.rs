//! The report for scripts: the same figures as the text, under their field names, times in
//! RFC 3339, the share as a ratio and the median in seconds (`null` when undefined).

use super::SuccessReport;

pub fn render_json(report: &SuccessReport) -> String {
    serde_json::to_string_pretty(report).expect("a report is plain data")
}
