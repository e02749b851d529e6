//! The report as a person reads it at a terminal: one figure per line, the funnel on one.

use super::providers::{several_providers, ByProvider};
use super::SuccessReport;
use chrono::SecondsFormat;
use std::fmt::Write;

/// The totals; then, when accounts of more than one provider exist, a section per provider
/// with the same figures but sweeps (a sweep serves them all).
pub fn render_text(r: &SuccessReport, by_provider: &ByProvider) -> String {
    let mut out = String::new();
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let _ = writeln!(
        out,
        "Success report, {} to {} ({})\n",
        stamp(r.since),
        stamp(r.until),
        span(r.until - r.since)
    );
    for (label, value) in figures(r) {
        let _ = writeln!(out, "{label:<31} {value}");
    }
    if several_providers(by_provider) {
        for (provider, figures) in by_provider {
            let accounts = match figures.accounts {
                1 => "1 account".to_owned(),
                n => format!("{n} accounts"),
            };
            let _ = writeln!(out, "\n{provider}: {accounts}\n");
            for (label, value) in figures_of_provider(&figures.as_report(r)) {
                let _ = writeln!(out, "{label:<31} {value}");
            }
        }
    }
    out
}

/// A provider's figures: the report's, without its sweeps.
fn figures_of_provider(r: &SuccessReport) -> impl Iterator<Item = (&'static str, String)> {
    figures(r).into_iter().filter(|(label, _)| *label != SWEEPS)
}

const SWEEPS: &str = "Sweeps";

/// Each figure's label and value as the report prints them; the dashboard shows the same.
pub fn figures(r: &SuccessReport) -> [(&'static str, String); 7] {
    let share = r.kept_alive_share.map_or_else(
        || "nothing was due".to_owned(),
        |s| format!("{:.1}%", s * 100.0),
    );
    [
        (
            "Kept alive without the member",
            format!(
                "{} of {} due accounts ({share})",
                r.refreshed_automatically, r.due_accounts
            ),
        ),
        (
            "Reconnections avoided",
            format!("{} automatic refreshes", r.reconnections_avoided),
        ),
        (
            "Reconnect episodes",
            format!(
                "{} opened, {} closed",
                r.reconnect_episodes_opened, r.reconnect_episodes_closed
            ),
        ),
        (
            "Median time to reconnect",
            r.median_time_to_reconnect_seconds
                .map_or_else(|| "none closed".to_owned(), duration),
        ),
        (
            "Email funnel",
            format!(
                "{} sent -> {} link opened -> {} reconnected",
                r.emails_sent, r.emails_link_opened, r.emails_reconnected
            ),
        ),
        (
            "Accounts lost",
            format!("{} expired without reconnecting", r.accounts_lost),
        ),
        (
            SWEEPS,
            format!(
                "{} started, {} completed",
                r.sweeps_started, r.sweeps_completed
            ),
        ),
    ]
}

/// The window's length: whole days, or hours.
fn span(length: chrono::Duration) -> String {
    let hours = length.num_hours();
    match (hours % 24, hours / 24) {
        (0, 1) => "1 day".to_owned(),
        (0, days) => format!("{days} days"),
        _ => format!("{hours} hours"),
    }
}

/// `2d 3h 15m`: minutes are as fine as a member's reaction is worth measuring.
fn duration(seconds: i64) -> String {
    let minutes = seconds / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    format!("{days}d {hours}h {minutes}m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_days_hours_and_minutes() {
        assert_eq!(duration(0), "0d 0h 0m");
        assert_eq!(duration(59), "0d 0h 0m");
        assert_eq!(duration(93_600 + 15 * 60), "1d 2h 15m");
        assert_eq!(span(chrono::Duration::days(30)), "30 days");
        assert_eq!(span(chrono::Duration::days(1)), "1 day");
        assert_eq!(span(chrono::Duration::hours(36)), "36 hours");
    }
}
