//! The refresh engine's metrics. Each is counted twice: once in the series operators and the
//! alert rules already read (`tokenkeeper_refresh_calls_total{outcome}` and the like, all
//! providers together), and once per provider in a metric of its own
//! (`tokenkeeper_refresh_provider_*{provider,…}`). A `provider` label added to the first
//! would split their series and change what every existing query and alert sums; the totals
//! keep their series, as the report's gauges do.

use crate::domain::{EnumText, ProviderName, RefreshOutcome};
use metrics::{counter, histogram};

/// One call to the network's token endpoint took `seconds`, whatever it answered.
pub fn call_timed(provider: &ProviderName, seconds: f64) {
    histogram!("tokenkeeper_refresh_call_seconds").record(seconds);
    histogram!("tokenkeeper_refresh_provider_call_seconds", "provider" => provider.to_string())
        .record(seconds);
}

/// One call's outcome (a refresh or a failure's class).
pub fn call_counted(provider: &ProviderName, outcome: RefreshOutcome) {
    let outcome = outcome.as_str();
    counter!("tokenkeeper_refresh_calls_total", "outcome" => outcome).increment(1);
    counter!("tokenkeeper_refresh_provider_calls_total",
        "provider" => provider.to_string(), "outcome" => outcome)
    .increment(1);
}

/// One account's result, written by a sweep, and how long the account took from its turn to
/// the write.
pub fn result_written(provider: &ProviderName, result: &'static str, seconds: f64) {
    counter!("tokenkeeper_refresh_results_total", "result" => result).increment(1);
    histogram!("tokenkeeper_refresh_duration_seconds", "result" => result).record(seconds);
    let provider = provider.to_string();
    counter!("tokenkeeper_refresh_provider_results_total",
        "provider" => provider.clone(), "result" => result)
    .increment(1);
    histogram!("tokenkeeper_refresh_provider_duration_seconds",
        "provider" => provider, "result" => result)
    .record(seconds);
}

/// A claimed row that does not read: its provider is not known (the row is what does not
/// read), so it is counted in the totals only.
pub fn unreadable_skipped() {
    counter!("tokenkeeper_refresh_results_total", "result" => "unreadable").increment(1);
}
