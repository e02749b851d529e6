//! The service's metrics as a test reads them: every sample of `/metrics` by name and labels,
//! from a process that runs this one test alone (the recorder is process-wide, and tests
//! running beside it would add to the same counters).

use crate::support::TestApp;
use std::collections::BTreeMap;

/// Every sample `/metrics` serves, keyed as exposed: `name{label="value"}`, or `name`.
pub async fn metric_values(app: &TestApp) -> BTreeMap<String, f64> {
    assert!(
        crate::support::harness::in_own_process(),
        "metrics are process-wide: register this test `in_own_process`"
    );
    let response = app.browser.get(app.metrics_url()).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("a sample is `key value`: {line}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("a sample's value is a number: {line}"));
            (key.to_owned(), value)
        })
        .collect()
}

/// The samples of the named metrics only, for an exact comparison that ignores the others.
pub fn only(values: &BTreeMap<String, f64>, names: &[&str]) -> BTreeMap<String, f64> {
    values
        .iter()
        .filter(|(key, _)| {
            let name = key.split('{').next().unwrap_or(key);
            names.contains(&name)
        })
        .map(|(key, value)| (key.clone(), *value))
        .collect()
}
