//! Configuration in layers: built-in defaults, then an optional TOML file, then
//! `TOKENKEEPER_*` environment variables. Everything is checked once at start-up; a wrong value
//! stops the program with a message naming the key and what was expected.
//!
//! Environment variables name keys with the section and key joined by a double underscore:
//! `TOKENKEEPER_DATABASE_URL`, `TOKENKEEPER_LINKEDIN__CLIENT_SECRET`.

mod database_url;
mod email;
mod http;
mod raw;

pub use database_url::{redact_database_url, DatabaseUrl};
pub use email::{EmailSettings, SmtpSecurity, SmtpSettings};
pub use http::HttpSettings;
pub use raw::RawConfig;

use crate::domain::{ExpiryPolicy, NotificationPolicy};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use url::Url;

const ENV_PREFIX: &str = "TOKENKEEPER_";
/// Variables read by the command line itself, not configuration keys.
const CLI_VARIABLES: &[&str] = &["TOKENKEEPER_CONFIG"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("environment variable {var} does not name a configuration key (expected TOKENKEEPER_<KEY> or TOKENKEEPER_<SECTION>__<KEY>)")]
    UnknownVariable { var: String },
}

/// A count or duration that must be at least 1 and at most `max`.
fn in_range(key: &str, value: u64, max: u64) -> Result<u64, ConfigError> {
    if value == 0 || value > max {
        Err(invalid(key, format!("expected 1 to {max}")))
    } else {
        Ok(value)
    }
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// The validated configuration the program runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub http: HttpSettings,
    pub api: ApiSettings,
    pub linkedin: LinkedInSettings,
    pub connect: ConnectSettings,
    pub refresh: RefreshSettings,
    pub notify: NotificationPolicy,
    pub smtp: SmtpSettings,
    pub email: EmailSettings,
    pub schedule: ScheduleSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Bearer key the host app presents to the API. Without one the API answers 503.
    pub api_key: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct LinkedInSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: Url,
    pub token_url: Url,
    pub introspect_url: Url,
    pub userinfo_url: Url,
    pub scope: String,
    pub timeout: std::time::Duration,
    /// Retries at the callback (userinfo, a code exchange that got no answer) start after
    /// this pause...
    pub callback_retry_initial: std::time::Duration,
    /// ...and stop after this much waiting in total: a member is looking at the browser.
    pub callback_retry_max_total: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub signing_key: SecretString,
    pub link_ttl: Duration,
    /// Origins `return_to` may point at, as `scheme://host[:port]`.
    pub allowed_return_origins: Vec<url::Origin>,
    /// How often expired sign-in attempts and used-link marks are deleted.
    pub purge_interval: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct RefreshSettings {
    pub expiry: ExpiryPolicy,
    /// Refreshes in flight at once.
    pub concurrency: usize,
    /// Due accounts claimed per database round trip.
    pub batch_size: i64,
    /// Calls to LinkedIn's token endpoint per second, across all workers of this process.
    pub rate_per_second: u32,
    /// Tries per account within one sweep (the first call included).
    pub max_attempts: u32,
    pub retry_initial: std::time::Duration,
    /// No account is retried for longer than this within one sweep.
    pub retry_max_total: std::time::Duration,
    /// How long a claim on an account lasts before another process may take it over.
    pub lease: Duration,
    pub log_retention: Duration,
    /// The circuit breaker looks at this many recent calls...
    pub breaker_window: usize,
    /// ...and ends the sweep when this share of them failed transiently.
    pub breaker_failure_ratio: f64,
    /// Consecutive slots in which LinkedIn refuses one account with an answer it does not
    /// document before that account's member is asked to reconnect.
    pub max_rejected_slots: u32,
}

#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// Whether `serve` runs sweeps by itself (turn off when cron runs `tokenkeeper sweep`).
    pub enabled: bool,
    pub cron: String,
    pub timezone: chrono_tz::Tz,
    /// How often the scheduler looks at the clock while waiting for a slot.
    pub poll: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Config {
    /// Defaults, then the file (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut layered = toml::Value::try_from(RawConfig::default())
            .expect("the default configuration serializes");
        if let Some(path) = file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: shown.clone(),
                source,
            })?;
            let from_file: toml::Value =
                toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                    path: shown.clone(),
                    message: e.message().to_owned(),
                })?;
            raw::merge(&mut layered, from_file, "")?;
        }
        let mut vars: Vec<_> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !CLI_VARIABLES.contains(&k.as_str()))
            .collect();
        vars.sort();
        for (var, value) in vars {
            raw::apply_env(&mut layered, &var, &value, ENV_PREFIX)?;
        }
        let raw: RawConfig =
            layered
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    key: "(configuration)".into(),
                    message: e.message().to_owned(),
                })?;
        Self::from_raw(raw)
    }

    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let api_key = match raw.api.api_key {
            key if key.is_empty() => None,
            key if key.len() < 16 => {
                return Err(invalid(
                    "api.api_key",
                    "must be at least 16 characters (a long random string)",
                ))
            }
            key => Some(SecretString::from(key)),
        };
        let l = raw.linkedin;
        if l.client_id.trim().is_empty() {
            return Err(invalid(
                "linkedin.client_id",
                "must not be empty: the Client ID of your LinkedIn app",
            ));
        }
        if l.client_secret.is_empty() {
            return Err(invalid(
                "linkedin.client_secret",
                "must not be empty: the Primary Client Secret of your LinkedIn app",
            ));
        }
        if l.scope.split_whitespace().next().is_none() {
            return Err(invalid(
                "linkedin.scope",
                "must name at least one scope, space separated",
            ));
        }
        if l.timeout_seconds == 0 || l.timeout_seconds > 300 {
            return Err(invalid("linkedin.timeout_seconds", "expected 1 to 300"));
        }
        let linkedin = LinkedInSettings {
            authorize_url: parse_http_url("linkedin.authorize_url", &l.authorize_url)?,
            token_url: parse_http_url("linkedin.token_url", &l.token_url)?,
            introspect_url: parse_http_url("linkedin.introspect_url", &l.introspect_url)?,
            userinfo_url: parse_http_url("linkedin.userinfo_url", &l.userinfo_url)?,
            client_id: l.client_id,
            client_secret: SecretString::from(l.client_secret),
            scope: l.scope.split_whitespace().collect::<Vec<_>>().join(" "),
            timeout: std::time::Duration::from_secs(l.timeout_seconds),
            callback_retry_initial: std::time::Duration::from_millis(in_range(
                "linkedin.callback_retry_initial_ms",
                l.callback_retry_initial_ms,
                10_000,
            )?),
            callback_retry_max_total: std::time::Duration::from_millis(in_range(
                "linkedin.callback_retry_max_total_ms",
                l.callback_retry_max_total_ms,
                30_000,
            )?),
        };

        let c = raw.connect;
        if c.signing_key.len() < 32 {
            return Err(invalid(
                "connect.signing_key",
                "must be at least 32 characters (a long random string)",
            ));
        }
        if c.link_ttl_minutes == 0 || c.link_ttl_minutes > 7 * 24 * 60 {
            return Err(invalid(
                "connect.link_ttl_minutes",
                "expected 1 to 10080 (a week)",
            ));
        }
        let mut allowed_return_origins = Vec::new();
        for origin in &c.allowed_return_origins {
            let url = parse_http_url("connect.allowed_return_origins", origin)?;
            if url.path() != "/" || url.query().is_some() {
                return Err(invalid(
                    "connect.allowed_return_origins",
                    format!(
                        "{origin:?} must be an origin like https://app.example.com, without a path"
                    ),
                ));
            }
            allowed_return_origins.push(url.origin());
        }
        if c.purge_interval_ms == 0 || c.purge_interval_ms > 86_400_000 {
            return Err(invalid(
                "connect.purge_interval_ms",
                "expected 1 to 86400000 (a day)",
            ));
        }
        let connect = ConnectSettings {
            signing_key: SecretString::from(c.signing_key),
            link_ttl: Duration::minutes(c.link_ttl_minutes as i64),
            allowed_return_origins,
            purge_interval: std::time::Duration::from_millis(c.purge_interval_ms),
        };

        let r = raw.refresh;
        if r.refresh_after_days == 0 || r.refresh_after_days > 365 {
            return Err(invalid("refresh.refresh_after_days", "expected 1 to 365"));
        }
        if r.safety_margin_hours > 24 * 30 {
            return Err(invalid("refresh.safety_margin_hours", "expected 0 to 720"));
        }
        let refresh = RefreshSettings {
            expiry: ExpiryPolicy {
                refresh_after: Duration::days(r.refresh_after_days as i64),
                safety_margin: Duration::hours(r.safety_margin_hours as i64),
            },
            concurrency: in_range("refresh.concurrency", r.concurrency, 1024)? as usize,
            batch_size: in_range("refresh.batch_size", r.batch_size, 10_000)? as i64,
            rate_per_second: in_range("refresh.rate_per_second", r.rate_per_second, 100_000)?
                as u32,
            max_attempts: in_range("refresh.max_attempts", r.max_attempts, 20)? as u32,
            retry_initial: std::time::Duration::from_millis(in_range(
                "refresh.retry_initial_ms",
                r.retry_initial_ms,
                600_000,
            )?),
            retry_max_total: std::time::Duration::from_secs(in_range(
                "refresh.retry_max_total_seconds",
                r.retry_max_total_seconds,
                3600,
            )?),
            lease: Duration::seconds(
                in_range("refresh.lease_seconds", r.lease_seconds, 86_400)? as i64
            ),
            log_retention: Duration::days(in_range(
                "refresh.log_retention_days",
                r.log_retention_days,
                36_500,
            )? as i64),
            breaker_window: in_range("refresh.breaker_window", r.breaker_window, 10_000)? as usize,
            breaker_failure_ratio: in_range(
                "refresh.breaker_failure_percent",
                r.breaker_failure_percent,
                100,
            )? as f64
                / 100.0,
            max_rejected_slots: in_range("refresh.max_rejected_slots", r.max_rejected_slots, 60)?
                as u32,
        };
        let n = raw.notify;
        if n.warning_days > 59 {
            return Err(invalid("notify.warning_days", "expected 0 to 59"));
        }
        if n.reminder_days_before > 59 {
            return Err(invalid("notify.reminder_days_before", "expected 0 to 59"));
        }
        if let Some(bad) = n
            .refresh_token_reminder_days
            .iter()
            .find(|d| ![30, 7, 1].contains(*d))
        {
            return Err(invalid(
                "notify.refresh_token_reminder_days",
                format!("{bad}: each entry must be 30, 7 or 1"),
            ));
        }
        let notify = NotificationPolicy {
            warning_window: Duration::days(n.warning_days as i64),
            reminder_before: Duration::days(n.reminder_days_before as i64),
            refresh_token_reminder_days: n
                .refresh_token_reminder_days
                .iter()
                .map(|d| *d as i64)
                .collect(),
        };

        let s = raw.schedule;
        let timezone: chrono_tz::Tz = s.timezone.parse().map_err(|_| {
            invalid(
                "schedule.timezone",
                format!(
                    "{:?} is not an IANA time zone name such as UTC or Europe/Paris",
                    s.timezone
                ),
            )
        })?;
        crate::schedule::Schedule::parse(&s.cron, timezone)
            .map_err(|message| invalid("schedule.cron", message))?;
        if s.poll_ms == 0 || s.poll_ms > 3_600_000 {
            return Err(invalid("schedule.poll_ms", "expected 1 to 3600000"));
        }
        let schedule = ScheduleSettings {
            enabled: s.enabled,
            cron: s.cron,
            timezone,
            poll: std::time::Duration::from_millis(s.poll_ms),
        };

        let format = match raw.log.format.as_str() {
            "human" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log.format",
                    format!("{other:?}: expected \"human\" or \"json\""),
                ))
            }
        };
        tracing_subscriber::EnvFilter::try_new(&raw.log.level).map_err(|e| {
            invalid(
                "log.level",
                format!("{e}: expected a level like info or a filter like tokenkeeper=debug"),
            )
        })?;

        if crate::store::Dialect::of_url(&raw.database_url).is_none() {
            return Err(invalid(
                "database_url",
                "expected sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            ));
        }

        Ok(Config {
            database_url: DatabaseUrl::new(raw.database_url),
            http: http::http_from_raw(raw.http)?,
            api: ApiSettings { api_key },
            linkedin,
            connect,
            refresh,
            notify,
            smtp: email::smtp_from_raw(raw.smtp)?,
            email: email::email_from_raw(raw.email)?,
            schedule,
            log: LogSettings {
                format,
                level: raw.log.level,
            },
        })
    }

    /// Where users' browsers reach the service, when not yet bound: `http.public_url`, or
    /// the bind address.
    pub fn public_base_url(&self) -> Url {
        self.http.public_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("http://{}/", self.http.bind)).expect("an address makes a URL")
        })
    }

    /// The effective configuration as TOML, secrets replaced by a marker.
    pub fn redacted_toml(&self) -> String {
        let redact = |s: &SecretString| {
            if s.expose_secret().is_empty() {
                String::new()
            } else {
                "[redacted]".to_owned()
            }
        };
        let raw = RawConfig {
            database_url: self.database_url.to_string(),
            http: http::http_to_raw(&self.http),
            api: raw::RawApi {
                api_key: self.api.api_key.as_ref().map(redact).unwrap_or_default(),
            },
            linkedin: raw::RawLinkedIn {
                client_id: self.linkedin.client_id.clone(),
                client_secret: redact(&self.linkedin.client_secret),
                authorize_url: self.linkedin.authorize_url.to_string(),
                token_url: self.linkedin.token_url.to_string(),
                introspect_url: self.linkedin.introspect_url.to_string(),
                userinfo_url: self.linkedin.userinfo_url.to_string(),
                scope: self.linkedin.scope.clone(),
                timeout_seconds: self.linkedin.timeout.as_secs(),
                callback_retry_initial_ms: self.linkedin.callback_retry_initial.as_millis() as u64,
                callback_retry_max_total_ms: self.linkedin.callback_retry_max_total.as_millis()
                    as u64,
            },
            connect: raw::RawConnect {
                signing_key: redact(&self.connect.signing_key),
                link_ttl_minutes: self.connect.link_ttl.num_minutes() as u64,
                allowed_return_origins: self
                    .connect
                    .allowed_return_origins
                    .iter()
                    .map(|o| o.ascii_serialization())
                    .collect(),
                purge_interval_ms: self.connect.purge_interval.as_millis() as u64,
            },
            refresh: raw::RawRefresh {
                refresh_after_days: self.refresh.expiry.refresh_after.num_days() as u64,
                safety_margin_hours: self.refresh.expiry.safety_margin.num_hours() as u64,
                concurrency: self.refresh.concurrency as u64,
                batch_size: self.refresh.batch_size as u64,
                rate_per_second: self.refresh.rate_per_second as u64,
                max_attempts: self.refresh.max_attempts as u64,
                retry_initial_ms: self.refresh.retry_initial.as_millis() as u64,
                retry_max_total_seconds: self.refresh.retry_max_total.as_secs(),
                lease_seconds: self.refresh.lease.num_seconds() as u64,
                log_retention_days: self.refresh.log_retention.num_days() as u64,
                breaker_window: self.refresh.breaker_window as u64,
                breaker_failure_percent: (self.refresh.breaker_failure_ratio * 100.0).round()
                    as u64,
                max_rejected_slots: self.refresh.max_rejected_slots as u64,
            },
            notify: raw::RawNotify {
                warning_days: self.notify.warning_window.num_days() as u64,
                reminder_days_before: self.notify.reminder_before.num_days() as u64,
                refresh_token_reminder_days: self
                    .notify
                    .refresh_token_reminder_days
                    .iter()
                    .map(|d| *d as u64)
                    .collect(),
            },
            smtp: email::smtp_to_raw(&self.smtp),
            email: email::email_to_raw(&self.email),
            schedule: raw::RawSchedule {
                enabled: self.schedule.enabled,
                cron: self.schedule.cron.clone(),
                timezone: self.schedule.timezone.name().to_owned(),
                poll_ms: self.schedule.poll.as_millis() as u64,
            },
            log: raw::RawLog {
                format: match self.log.format {
                    LogFormat::Human => "human".into(),
                    LogFormat::Json => "json".into(),
                },
                level: self.log.level.clone(),
            },
        };
        toml::to_string_pretty(&raw).expect("configuration serializes")
    }
}

fn parse_http_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| {
        invalid(
            key,
            format!("{text:?} is not a URL ({e}); expected http(s)://..."),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(key, format!("{text:?}: expected an http(s) URL")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
