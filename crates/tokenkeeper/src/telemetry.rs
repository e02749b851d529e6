//! Logging setup, in one place. Human-readable by default, JSON for log pipelines.

use crate::config::{LogFormat, LogSettings};
use crate::domain::EnumText;
use crate::domain::SweepOutcome;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the configured level.
pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let colour = wants_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    // A second init (tests, the demo) is harmless: the first subscriber stays.
    let _ = match settings.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Colour codes only for a person at a terminal: a file, a pipe or the journal gets plain
/// text, and so does anyone who sets `NO_COLOR` to anything but nothing (no-color.org).
fn wants_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// An error and its causes on one line, for logs and the command line.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The most of an outsider's text we keep, in characters: enough for any real diagnostic.
const OUTSIDE_TEXT_LIMIT: usize = 300;

/// Text from outside (LinkedIn's answers, an SMTP server's, a browser's query) as we may log
/// and store it: on one line, since control characters could forge log lines, and bounded, so
/// a misbehaving peer cannot flood the logs or the database.
pub fn outside_text(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(OUTSIDE_TEXT_LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(OUTSIDE_TEXT_LIMIT).is_some() {
        out.push_str(" [cut]");
    }
    out
}

/// The process's Prometheus recorder, installed on first use. Metrics are process-global, so
/// every `Application` in a process (tests start many) shares one.
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; ours still renders what it records.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Puts at zero the counters that the alert rules (deploy/alerts.yml) watch, before anything
/// has counted: `increase()` over a series that first appears at 1 sees no increase, so the
/// first misconfiguration or failed email would go unnoticed.
pub fn show_alerting_series() {
    metrics::counter!("tokenkeeper_refresh_misconfiguration_total").increment(0);
    for outcome in [
        SweepOutcome::Completed,
        SweepOutcome::Degraded,
        SweepOutcome::Failed,
    ] {
        metrics::counter!("tokenkeeper_sweep_runs_total", "outcome" => outcome.as_str())
            .increment(0);
    }
    for result in ["sent", "retry", "failed"] {
        metrics::counter!("tokenkeeper_emails_total", "result" => result).increment(0);
    }
    for outcome in ["delivered", "retry", "failed"] {
        metrics::counter!("tokenkeeper_webhooks_total", "outcome" => outcome).increment(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(false, None));
        assert!(!wants_colour(false, Some(OsStr::new(""))));
    }

    #[test]
    fn outside_text_is_one_bounded_line() {
        assert_eq!(outside_text("550 no\r\nsuch user"), "550 no  such user");
        let long = "é".repeat(10_000);
        let cut = outside_text(&long);
        assert!(cut.ends_with(" [cut]"));
        assert_eq!(cut.chars().count(), OUTSIDE_TEXT_LIMIT + " [cut]".len());
        assert_eq!(outside_text("250 OK"), "250 OK");
    }
}
