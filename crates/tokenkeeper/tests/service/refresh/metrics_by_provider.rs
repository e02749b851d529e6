//! The refresh metrics per provider: a sweep refreshes a LinkedIn member and an X member
//! (whose first call fails with a 500 and is retried). Each provider's calls, results and
//! timings are its own series (`tokenkeeper_refresh_provider_*{provider,…}`), and the totals
//! keep theirs.

use crate::backend_tests;
use crate::support::metric_values::{metric_values, only};
use crate::support::networks::spawn_with_networks;
use crate::support::{t0, Setup};
use chrono::Duration;
use fake_linkedin::networks::NetworkEndpoint;
use fake_linkedin::{Fault, NetworkKind};
use std::collections::BTreeMap;
use test_databases::Backend;

backend_tests!(in_own_process: each_provider_s_refreshes_are_counted_under_its_name);

async fn each_provider_s_refreshes_are_counted_under_its_name(backend: Backend) {
    let Some(app) = spawn_with_networks(backend, &[NetworkKind::X], Setup::default()).await else {
        return;
    };
    app.linked("ada").await;
    app.connect_through(NetworkKind::X, "bo").await;
    app.network(NetworkKind::X)
        .inject_fault(NetworkEndpoint::Refresh, Fault::Status(500), Some(1));
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(report.counts.refreshed, 2, "{report:?}");

    let metrics = metric_values(&app).await;
    let expected = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(
        only(
            &metrics,
            &[
                "tokenkeeper_refresh_provider_calls_total",
                "tokenkeeper_refresh_provider_results_total",
                "tokenkeeper_refresh_provider_call_seconds_count",
                "tokenkeeper_refresh_provider_duration_seconds_count",
            ]
        ),
        expected(&[
            (
                r#"tokenkeeper_refresh_provider_calls_total{provider="linkedin",outcome="refreshed"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_calls_total{provider="x",outcome="refreshed"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_calls_total{provider="x",outcome="transient"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_results_total{provider="linkedin",result="refreshed"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_results_total{provider="x",result="refreshed"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_call_seconds_count{provider="linkedin"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_call_seconds_count{provider="x"}"#,
                2.0
            ),
            (
                r#"tokenkeeper_refresh_provider_duration_seconds_count{provider="linkedin",result="refreshed"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_provider_duration_seconds_count{provider="x",result="refreshed"}"#,
                1.0
            ),
        ])
    );
    // The totals keep their series: every provider's together, without the label.
    assert_eq!(
        only(
            &metrics,
            &[
                "tokenkeeper_refresh_calls_total",
                "tokenkeeper_refresh_results_total",
                "tokenkeeper_refresh_call_seconds_count",
            ]
        ),
        expected(&[
            ("tokenkeeper_refresh_call_seconds_count", 3.0),
            (
                r#"tokenkeeper_refresh_calls_total{outcome="refreshed"}"#,
                2.0
            ),
            (
                r#"tokenkeeper_refresh_calls_total{outcome="transient"}"#,
                1.0
            ),
            (
                r#"tokenkeeper_refresh_results_total{result="refreshed"}"#,
                2.0
            ),
        ])
    );
}
