//! The configuration as written by people: plain values with defaults. Every key exists in the
//! defaults, so the defaults double as the schema: a file or environment value for an unknown
//! key, or of the wrong type, is refused here with the key's name.

use super::{invalid, ConfigError};
use serde::{Deserialize, Serialize};
use toml::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub database_url: String,
    pub http: super::http::RawHttp,
    pub api: RawApi,
    pub linkedin: RawLinkedIn,
    pub connect: RawConnect,
    pub refresh: RawRefresh,
    pub notify: RawNotify,
    pub smtp: super::email::RawSmtp,
    pub email: super::email::RawEmail,
    pub schedule: RawSchedule,
    pub log: RawLog,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://tokenkeeper.db".into(),
            http: Default::default(),
            api: RawApi::default(),
            linkedin: RawLinkedIn::default(),
            connect: RawConnect::default(),
            refresh: RawRefresh::default(),
            notify: RawNotify::default(),
            smtp: Default::default(),
            email: Default::default(),
            schedule: RawSchedule::default(),
            log: RawLog::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawApi {
    pub api_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLinkedIn {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub introspect_url: String,
    pub userinfo_url: String,
    pub scope: String,
    pub timeout_seconds: u64,
    pub callback_retry_initial_ms: u64,
    pub callback_retry_max_total_ms: u64,
}

impl Default for RawLinkedIn {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: String::new(),
            authorize_url: "https://www.linkedin.com/oauth/v2/authorization".into(),
            token_url: "https://www.linkedin.com/oauth/v2/accessToken".into(),
            introspect_url: "https://www.linkedin.com/oauth/v2/introspectToken".into(),
            userinfo_url: "https://api.linkedin.com/v2/userinfo".into(),
            scope: "openid profile email w_member_social".into(),
            timeout_seconds: 20,
            callback_retry_initial_ms: 250,
            callback_retry_max_total_ms: 4000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConnect {
    pub signing_key: String,
    pub link_ttl_minutes: u64,
    pub allowed_return_origins: Vec<String>,
    pub purge_interval_ms: u64,
}

impl Default for RawConnect {
    fn default() -> Self {
        Self {
            signing_key: String::new(),
            link_ttl_minutes: 15,
            allowed_return_origins: Vec::new(),
            purge_interval_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawRefresh {
    pub refresh_after_days: u64,
    pub safety_margin_hours: u64,
    pub concurrency: u64,
    pub batch_size: u64,
    pub rate_per_second: u64,
    pub max_attempts: u64,
    pub retry_initial_ms: u64,
    pub retry_max_total_seconds: u64,
    pub lease_seconds: u64,
    pub log_retention_days: u64,
    pub breaker_window: u64,
    pub breaker_failure_percent: u64,
    pub max_rejected_slots: u64,
}

impl Default for RawRefresh {
    fn default() -> Self {
        Self {
            refresh_after_days: 50,
            safety_margin_hours: 72,
            concurrency: 8,
            batch_size: 200,
            rate_per_second: 20,
            max_attempts: 4,
            retry_initial_ms: 1000,
            retry_max_total_seconds: 60,
            lease_seconds: 600,
            log_retention_days: 90,
            breaker_window: 20,
            breaker_failure_percent: 80,
            max_rejected_slots: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawNotify {
    pub warning_days: u64,
    pub reminder_days_before: u64,
    pub refresh_token_reminder_days: Vec<u64>,
}

impl Default for RawNotify {
    fn default() -> Self {
        Self {
            warning_days: 3,
            reminder_days_before: 3,
            refresh_token_reminder_days: vec![30, 7, 1],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSchedule {
    pub enabled: bool,
    pub cron: String,
    pub timezone: String,
    pub poll_ms: u64,
}

impl Default for RawSchedule {
    fn default() -> Self {
        Self {
            enabled: true,
            cron: "0 0,12 * * *".into(),
            timezone: "UTC".into(),
            poll_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLog {
    pub format: String,
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: "human".into(),
            level: "info".into(),
        }
    }
}

/// Lays `overlay` over `base`, refusing keys the defaults do not have and values whose type
/// differs from the default's.
pub(super) fn merge(base: &mut Value, overlay: Value, path: &str) -> Result<(), ConfigError> {
    let (Value::Table(base_table), Value::Table(overlay_table)) = (base, overlay) else {
        unreachable!("merge is only called on tables");
    };
    for (key, value) in overlay_table {
        let full = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let Some(slot) = base_table.get_mut(&key) else {
            return Err(invalid(&full, "unknown key"));
        };
        match (&*slot, &value) {
            (Value::Table(_), Value::Table(_)) => merge(slot, value, &full)?,
            (Value::Table(_), _) => return Err(invalid(&full, "expected a [section] table")),
            (expected, got) if !same_type(expected, got) => {
                return Err(invalid(
                    &full,
                    format!("expected {}, found {}", type_name(expected), type_name(got)),
                ))
            }
            // Every number of the configuration is a count or a duration: a negative one
            // would otherwise fail later, in deserialization, under no key's name.
            (Value::Integer(_), Value::Integer(n)) if *n < 0 => {
                return Err(invalid(&full, format!("expected 0 or more, found {n}")))
            }
            (Value::Array(defaults), Value::Array(items))
                if matches!(defaults.first(), Some(Value::Integer(_)))
                    && !items.iter().all(|i| i.as_integer().is_some_and(|n| n >= 0)) =>
            {
                return Err(invalid(&full, "expected a list of numbers, 0 or more"))
            }
            _ => *slot = value,
        }
    }
    Ok(())
}

/// Sets the key an environment variable names, converting its text to the key's type.
pub(super) fn apply_env(
    layered: &mut Value,
    var: &str,
    text: &str,
    prefix: &str,
) -> Result<(), ConfigError> {
    let unknown = || ConfigError::UnknownVariable {
        var: var.to_owned(),
    };
    let name = var[prefix.len()..].to_ascii_lowercase();
    let path: Vec<&str> = name.split("__").collect();
    let key = path.join(".");
    let mut slot = &mut *layered;
    for part in &path {
        slot = slot
            .as_table_mut()
            .and_then(|t| t.get_mut(*part))
            .ok_or_else(unknown)?;
    }
    let about = |what: &str| invalid(&key, format!("{var}={text:?} is not {what}"));
    *slot = match slot {
        Value::String(_) => Value::String(text.to_owned()),
        Value::Integer(_) => {
            Value::Integer(non_negative(text).ok_or_else(|| about("an integer, 0 or more"))?)
        }
        Value::Boolean(_) => {
            Value::Boolean(text.trim().parse().map_err(|_| about("true or false"))?)
        }
        Value::Float(_) => Value::Float(text.trim().parse().map_err(|_| about("a number"))?),
        Value::Array(items) => {
            let integers = matches!(items.first(), Some(Value::Integer(_)));
            let parts = text.split(',').map(str::trim).filter(|s| !s.is_empty());
            if integers {
                Value::Array(
                    parts
                        .map(|p| non_negative(p).map(Value::Integer))
                        .collect::<Option<_>>()
                        .ok_or_else(|| about("a comma-separated list of integers, 0 or more"))?,
                )
            } else {
                Value::Array(parts.map(|p| Value::String(p.to_owned())).collect())
            }
        }
        Value::Table(_) | Value::Datetime(_) => return Err(unknown()),
    };
    Ok(())
}

/// Integer keys are all counts or durations: negative text is refused with the key's name.
fn non_negative(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok().filter(|n| *n >= 0)
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}
