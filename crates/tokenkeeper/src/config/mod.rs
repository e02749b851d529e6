//! Configuration in layers: built-in defaults, then an optional TOML file, then
//! `TOKENKEEPER_*` environment variables. Everything is checked once at start-up; a wrong value
//! stops the program with a message naming the key and what was expected, and the keys without
//! a default that are not set are named all at once.
//!
//! Each section is one struct, read and printed by serde: a key's name, type, default, range
//! and check stand next to its field, and printing redacts the secrets. Environment variables
//! name keys with the section and key joined by a double underscore:
//! `TOKENKEEPER_DATABASE_URL`, `TOKENKEEPER_LINKEDIN__CLIENT_SECRET`.
//!
//! Of the crate, configuration reads the domain (where the schedule's cron rules are, so an
//! expression is checked as it is read) and `crypto`, which imports nothing of ours but the
//! domain, so that a keyring or a webhook secret that does not parse stops the start under its
//! key.

mod admin;
mod api;
mod connect;
mod email;
mod encryption;
mod env;
mod error;
mod field;
mod http;
mod linkedin;
mod log;
mod notify;
mod providers;
mod refresh;
mod schedule;
mod smtp;
mod webhooks;

pub use admin::AdminSettings;
pub use api::ApiSettings;
pub use connect::ConnectSettings;
pub use email::EmailSettings;
pub use encryption::EncryptionSettings;
pub use error::{ConfigError, Required};
pub use http::HttpSettings;
pub use linkedin::LinkedInSettings;
pub use log::{LogFormat, LogSettings};
pub use providers::{ClientAuth, ProviderSettings};
pub use refresh::RefreshSettings;
pub use schedule::ScheduleSettings;
pub use smtp::{SmtpSecurity, SmtpSettings};
pub use webhooks::{WebhookSettings, WebhookTarget};

use crate::domain::{DatabaseUrl, NotificationPolicy, ProviderName};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use url::Url;

/// The configuration the program runs with. Every key exists in the defaults, so a key that is
/// not there, or a value of the wrong type, is refused by serde under the key's name. The field
/// order is the order `tokenkeeper config` prints the sections in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub http: HttpSettings,
    pub api: ApiSettings,
    /// The operators' dashboard; off without a password hash.
    pub admin: AdminSettings,
    pub linkedin: LinkedInSettings,
    /// The providers besides `[linkedin]`, by name (`[providers.NAME]`); `linkedin` is never
    /// one of them. [`Config::all_providers`] lists them all.
    #[serde(
        deserialize_with = "providers::names::deserialize",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub providers: BTreeMap<ProviderName, ProviderSettings>,
    pub connect: ConnectSettings,
    pub refresh: RefreshSettings,
    #[serde(with = "notify::Notify")]
    pub notify: NotificationPolicy,
    pub smtp: SmtpSettings,
    pub email: EmailSettings,
    pub schedule: ScheduleSettings,
    pub log: LogSettings,
    pub encryption: EncryptionSettings,
    pub webhooks: WebhookSettings,
}

/// The keys without a default, with what to put there: the program does not run until each
/// is set.
const REQUIRED: [Required; 3] = [
    ("linkedin.client_id", "the Client ID of your LinkedIn app"),
    (
        "linkedin.client_secret",
        "the Primary Client Secret of your LinkedIn app",
    ),
    (
        "connect.signing_key",
        "a long random string, at least 32 characters",
    ),
];

/// The configuration as read and checked, before the keys without a default are asked for;
/// `tokenkeeper config` shows it with those that are missing marked.
pub struct Loaded {
    config: Config,
    layers: Figment,
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
        Self::read(file, env)?.complete()
    }

    /// Every key read and checked; the keys without a default may still be missing.
    pub fn read(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let defaults = Serialized::defaults(Config::default());
        let mut layers = Figment::from(&defaults);
        if let Some(path) = file {
            check_file(path)?;
            layers = layers.merge(Toml::file_exact(path));
            // Checked before the environment is laid over it: a section the file sets to a
            // plain value would otherwise be replaced, unnoticed, by a variable of that section.
            layers.extract::<Config>()?;
        }
        let mut default_keys = figment::Provider::data(&defaults)?
            .remove(&figment::Profile::Default)
            .unwrap_or_default();
        // Providers have no defaults but their keys: any name takes a provider's keys.
        let template =
            figment::Provider::data(&Serialized::defaults(ProviderSettings::template()))?
                .remove(&figment::Profile::Default)
                .unwrap_or_default();
        let any_name = figment::value::Dict::from([(env::ANY_NAME.to_owned(), template.into())]);
        default_keys.insert("providers".into(), any_name.into());
        let layers = layers.merge(env::Variables::read(env, &default_keys)?);
        let mut config: Config = layers.extract()?;
        config.check().map_err(|e| e.with_origin(&layers))?;
        Ok(Loaded { config, layers })
    }

    /// What one key says about another; each key alone was checked as it was read.
    fn check(&mut self) -> Result<(), ConfigError> {
        self.http.check()?;
        self.smtp.check()?;
        self.encryption.check()?;
        self.webhooks.check()?;
        providers::check(&mut self.providers)
    }

    /// Every configured provider, `[linkedin]` first (as `linkedin`), then `[providers.*]` by
    /// name.
    pub fn all_providers(&self) -> impl Iterator<Item = (ProviderName, ProviderSettings)> + '_ {
        let linkedin = (ProviderName::linkedin(), self.linkedin.as_provider());
        let others = self.providers.iter().map(|(n, s)| (n.clone(), s.clone()));
        std::iter::once(linkedin).chain(others)
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
        toml::to_string_pretty(self).expect("configuration serializes")
    }
}

impl Loaded {
    /// The configuration, or every key without a default that is not set, named at once.
    pub fn complete(self) -> Result<Config, ConfigError> {
        let keys = self.missing();
        match keys.is_empty() {
            true => Ok(self.config),
            false => Err(ConfigError::Missing { keys }),
        }
    }

    pub fn missing(&self) -> Vec<Required> {
        let printed = toml::Value::try_from(&self.config).expect("configuration serializes");
        let empty = |key: &str| {
            let value = key
                .split('.')
                .try_fold(&printed, |value, part| value.get(part));
            value
                .and_then(toml::Value::as_str)
                .is_some_and(|v| v.trim().is_empty())
        };
        REQUIRED.into_iter().filter(|(key, _)| empty(key)).collect()
    }

    /// The effective configuration as TOML, secrets redacted, each key followed by where its
    /// value came from (the default, the file or a variable), or by what to set when it is
    /// missing.
    pub fn annotated_toml(&self) -> String {
        let missing = self.missing();
        let mut out = String::new();
        let mut section = String::new();
        for line in toml::to_string(&self.config)
            .expect("configuration serializes")
            .lines()
        {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = format!("{name}.");
            }
            let Some((name, _)) = line.split_once(" = ") else {
                writeln!(out, "{line}").expect("a String takes text");
                continue;
            };
            let key = format!("{section}{name}");
            let origin = match missing.iter().find(|(k, _)| *k == key) {
                Some((_, what)) => {
                    format!("MISSING: required, {what}; set {}", error::variable(&key))
                }
                None => self.origin(&key),
            };
            writeln!(out, "{line}  # {origin}").expect("a String takes text");
        }
        out
    }

    fn origin(&self, key: &str) -> String {
        let metadata = self.layers.find_metadata(key);
        error::origin(key, metadata).map_or_else(|| "default".into(), |(_, whence)| whence)
    }
}

/// The file's own troubles are told apart from a wrong key: it cannot be read, or it is not
/// TOML at all.
fn check_file(path: &Path) -> Result<(), ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Syntax {
        path: shown,
        message: e.message().to_owned(),
    })?;
    Ok(())
}

/// The unit tests read durations as chrono's, as the settings hold them.
#[cfg(test)]
use chrono::Duration;

#[cfg(test)]
mod encryption_tests;
#[cfg(test)]
mod providers_tests;
#[cfg(test)]
mod tests;
