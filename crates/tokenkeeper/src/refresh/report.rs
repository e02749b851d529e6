use super::{SweepOutcome, SweepReport};

/// The summary `tokenkeeper sweep` prints.
pub fn render_report(report: &SweepReport) -> String {
    let mut out = String::new();
    if report.outcome == SweepOutcome::DryRun {
        out.push_str(&format!(
            "dry run as of {}: {} account(s) due, nothing changed\n",
            report
                .as_of
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            report.counts.due
        ));
        for a in &report.would_refresh {
            out.push_str(&format!(
                "  {:<20} due {}  {:<16} {}\n",
                a.user_id,
                a.expiration.format("%Y-%m-%d %H:%M"),
                a.status,
                if a.has_refresh_token {
                    "refresh"
                } else {
                    "no refresh token: reconnect email"
                }
            ));
        }
        return out;
    }
    let c = &report.counts;
    out.push_str(&format!(
        "sweep as of {}: {}\n  due {}  refreshed {}  failing {}  needs reconnect {}  skipped {}\n",
        report
            .as_of
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        report.outcome.as_str(),
        c.due,
        c.refreshed,
        c.failing,
        c.needs_reconnect,
        c.skipped
    ));
    if let Some(error) = &report.error {
        out.push_str(&format!("  {error}\n"));
    }
    out
}
