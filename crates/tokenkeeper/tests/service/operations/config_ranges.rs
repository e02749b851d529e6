//! Every number in the configuration is range-checked at start-up, and a refusal names the
//! key. The list of keys comes from the defaults themselves, so a number added without a
//! range here fails this test instead of going unchecked.

use crate::service_tests;
use std::collections::BTreeMap;
use std::io::Write;
use tokenkeeper::config::{Config, ConfigError};

/// The accepted range of each numeric key, as docs/configuration.md documents it.
const RANGES: &[(&str, u64, u64)] = &[
    ("http.header_timeout_seconds", 1, 300),
    ("http.request_timeout_seconds", 1, 600),
    ("http.body_limit_bytes", 1024, 16 * 1024 * 1024),
    ("http.shutdown_grace_seconds", 1, 300),
    ("http.max_connections", 1, 100_000),
    ("http.max_connections_per_client", 1, 100_000),
    ("http.rate_limit_per_minute", 1, 1_000_000),
    ("http.rate_limit_burst", 1, 1_000_000),
    ("linkedin.timeout_seconds", 1, 300),
    ("linkedin.callback_retry_initial_ms", 1, 10_000),
    ("linkedin.callback_retry_max_total_ms", 1, 30_000),
    ("connect.link_ttl_minutes", 1, 7 * 24 * 60),
    ("connect.purge_interval_ms", 1, 86_400_000),
    ("refresh.refresh_after_days", 1, 365),
    ("refresh.safety_margin_hours", 0, 720),
    ("refresh.concurrency", 1, 1024),
    ("refresh.batch_size", 1, 10_000),
    ("refresh.rate_per_second", 1, 100_000),
    ("refresh.max_attempts", 1, 20),
    ("refresh.retry_initial_ms", 1, 600_000),
    ("refresh.retry_max_total_seconds", 1, 3600),
    ("refresh.lease_seconds", 1, 86_400),
    ("refresh.log_retention_days", 1, 36_500),
    ("refresh.breaker_window", 1, 10_000),
    ("refresh.breaker_failure_percent", 1, 100),
    ("refresh.max_rejected_slots", 1, 60),
    ("notify.warning_days", 0, 59),
    ("notify.reminder_days_before", 0, 59),
    ("smtp.port", 1, 65_535),
    ("smtp.timeout_seconds", 1, 600),
    ("smtp.max_attempts", 1, 100),
    ("smtp.retry_initial_seconds", 1, 86_400),
    ("smtp.poll_seconds", 1, 3600),
    ("schedule.poll_ms", 1, 3_600_000),
    ("webhooks.timeout_seconds", 1, 120),
    ("webhooks.max_attempts", 1, 100),
    ("webhooks.retry_initial_seconds", 1, 86_400),
    ("webhooks.retry_max_seconds", 1, 604_800),
    ("webhooks.poll_seconds", 1, 3600),
    ("webhooks.expiring_days", 1, 365),
    ("webhooks.retention_days", 1, 3650),
];

/// A configuration that loads: the required keys, nothing else.
fn required() -> Vec<(String, String)> {
    [
        ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "86abc"),
        ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "client-secret-value"),
        (
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "0123456789abcdef0123456789abcdef",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `http.body_limit_bytes` -> `TOKENKEEPER_HTTP__BODY_LIMIT_BYTES`.
fn variable(key: &str) -> String {
    format!(
        "TOKENKEEPER_{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

fn load_with(key: &str, value: &str) -> Result<Config, ConfigError> {
    let mut vars = required();
    vars.push((variable(key), value.to_owned()));
    Config::load_from(None, vars)
}

/// The refusal of `key = value`, checked to name the key.
fn refusal(key: &str, value: &str) -> String {
    let err = match load_with(key, value) {
        Ok(_) => panic!("{key} = {value} was accepted"),
        Err(err) => err,
    };
    match &err {
        ConfigError::Invalid { key: named, .. } => assert_eq!(named, key, "{key} = {value}"),
        other => panic!("{key} = {value}: not a refusal of the key: {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("`{key}`")),
        "{key} = {value}: {message}"
    );
    message
}

/// Every integer key of the defaults, with its default value.
fn numeric_keys() -> BTreeMap<String, i64> {
    fn walk(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, i64>) {
        match value {
            toml::Value::Table(table) => {
                for (k, v) in table {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            toml::Value::Integer(n) => {
                out.insert(prefix.to_owned(), *n);
            }
            _ => {}
        }
    }
    let defaults = toml::Value::try_from(Config::default()).unwrap();
    let mut out = BTreeMap::new();
    walk("", &defaults, &mut out);
    out
}

service_tests!(every_numeric_key_has_a_documented_range);
async fn every_numeric_key_has_a_documented_range() {
    let checked: Vec<&str> = RANGES.iter().map(|(k, _, _)| *k).collect();
    let keys = numeric_keys();
    let unchecked: Vec<_> = keys
        .keys()
        .filter(|k| !checked.contains(&k.as_str()))
        .collect();
    assert!(
        unchecked.is_empty(),
        "numbers without a range: {unchecked:?}"
    );
    for (key, min, max) in RANGES {
        let default = keys[*key];
        assert!(
            (*min as i64..=*max as i64).contains(&default),
            "{key}: default {default}"
        );
    }
}

service_tests!(each_bound_is_accepted_and_each_value_past_it_is_refused_by_name);
async fn each_bound_is_accepted_and_each_value_past_it_is_refused_by_name() {
    for (key, min, max) in RANGES {
        for accepted in [*min, *max] {
            if let Err(e) = load_with(key, &accepted.to_string()) {
                panic!("{key} = {accepted} was refused: {e}");
            }
        }
        let past_max = refusal(key, &(max + 1).to_string());
        assert!(
            past_max.contains(&max.to_string()),
            "{key}: the refusal says the limit: {past_max}"
        );
        if *min > 0 {
            refusal(key, &(min - 1).to_string());
        }
        // Far past any limit, where a narrowing cast would wrap around to a valid value.
        refusal(key, &(u64::from(u32::MAX) + 1 + min).to_string());
    }
}

service_tests!(a_value_of_the_wrong_type_is_refused_by_name);
async fn a_value_of_the_wrong_type_is_refused_by_name() {
    for (key, _, _) in RANGES {
        let message = refusal(key, "ten");
        assert!(message.contains("not an integer"), "{key}: {message}");
        refusal(key, "-1");

        // The same mistake in a file.
        let (section, name) = key.split_once('.').unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[{section}]\n{name} = \"10\"").unwrap();
        let err = Config::load_from(Some(file.path()), required()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("`{key}`"))
                && err.to_string().contains("expected an integer"),
            "{key} in a file: {err}"
        );
        let mut negative = tempfile::NamedTempFile::new().unwrap();
        writeln!(negative, "[{section}]\n{name} = -1").unwrap();
        let err = Config::load_from(Some(negative.path()), required()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("`{key}`")),
            "{key} = -1 in a file: {err}"
        );
    }
}

service_tests!(reminder_days_accept_only_30_7_and_1);
async fn reminder_days_accept_only_30_7_and_1() {
    let key = "notify.refresh_token_reminder_days";
    for good in ["30,7,1", "7", ""] {
        if let Err(e) = load_with(key, good) {
            panic!("{key} = {good}: {e}");
        }
    }
    for bad in ["0", "14", "30,8", "30,seven", "30,-1"] {
        refusal(key, bad);
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[notify]\nrefresh_token_reminder_days = [30, -7]").unwrap();
    let err = Config::load_from(Some(file.path()), required()).unwrap_err();
    assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
}
