//! Configuration in layers: built-in defaults, then an optional TOML file, then
//! `TOKENKEEPER_*` environment variables. Everything is checked once at start-up; a wrong value
//! stops the program with a message naming the key and what was expected.
//!
//! Environment variables name keys with the section and key joined by a double underscore:
//! `TOKENKEEPER_DATABASE_URL`, `TOKENKEEPER_LINKEDIN__CLIENT_SECRET`.

mod admin;
mod api;
mod check;
mod connect;
mod database_url;
mod email;
mod encryption;
mod env;
mod error;
mod field;
mod http;
mod linkedin;
mod log;
mod notify;
mod raw;
mod refresh;
mod schedule;
mod smtp;
mod webhooks;

pub use admin::{hash_password, password_matches, AdminSettings};
pub use api::ApiSettings;
pub use connect::ConnectSettings;
pub use database_url::{redact_database_url, DatabaseUrl};
pub use email::EmailSettings;
pub use encryption::{AllowPlaintext, EncryptionSettings, KeyEntries, RawEncryption};
pub use error::ConfigError;
pub use field::redacted_url;
pub use http::{HttpSettings, RawHttp};
pub use linkedin::LinkedInSettings;
pub use log::{LogFormat, LogSettings};
pub use raw::RawConfig;
pub use refresh::RefreshSettings;
pub use schedule::ScheduleSettings;
pub use smtp::{RawSmtp, SmtpSecurity, SmtpSettings};
pub use webhooks::{RawWebhooks, WebhookSettings, WebhookTarget};

use crate::domain::NotificationPolicy;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use std::path::Path;
use url::Url;

/// The validated configuration the program runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub http: HttpSettings,
    pub api: ApiSettings,
    /// The operators' dashboard; off without a password hash.
    pub admin: AdminSettings,
    pub linkedin: LinkedInSettings,
    pub connect: ConnectSettings,
    pub refresh: RefreshSettings,
    pub notify: NotificationPolicy,
    pub smtp: SmtpSettings,
    pub email: EmailSettings,
    pub schedule: ScheduleSettings,
    pub log: LogSettings,
    pub encryption: EncryptionSettings,
    pub webhooks: WebhookSettings,
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
        let defaults = Serialized::defaults(RawConfig::default());
        let mut layers = Figment::from(&defaults);
        if let Some(path) = file {
            check_file(path)?;
            layers = layers.merge(Toml::file_exact(path));
            // Checked before the environment is laid over it: a section the file sets to a
            // plain value would otherwise be replaced, unnoticed, by a variable of that section.
            layers.extract::<RawConfig>()?;
        }
        let default_keys = figment::Provider::data(&defaults)?
            .remove(&figment::Profile::Default)
            .unwrap_or_default();
        let layers = layers.merge(env::Variables::read(env, &default_keys)?);
        let raw: RawConfig = layers.extract()?;
        Self::try_from(raw).map_err(|e| e.with_origin(&layers))
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
        let shown = RawConfig {
            database_url: self.database_url.to_string(),
            http: (&self.http).into(),
            api: self.api.clone(),
            admin: self.admin.clone(),
            linkedin: self.linkedin.clone(),
            connect: self.connect.clone(),
            refresh: self.refresh.clone(),
            notify: self.notify.clone(),
            smtp: (&self.smtp).into(),
            email: self.email.clone(),
            schedule: self.schedule.clone(),
            log: self.log.clone(),
            encryption: (&self.encryption).into(),
            webhooks: (&self.webhooks).into(),
        };
        toml::to_string_pretty(&shown).expect("configuration serializes")
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    /// Sections are checked in this order, so the first wrong key is the one reported.
    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        raw.linkedin.check()?;
        raw.connect.check()?;
        let encryption = raw.encryption.try_into()?;
        let webhooks = raw.webhooks.try_into()?;
        Ok(Config {
            database_url: raw.database_url.try_into()?,
            http: raw.http.try_into()?,
            api: raw.api,
            admin: raw.admin,
            linkedin: raw.linkedin,
            connect: raw.connect,
            refresh: raw.refresh,
            notify: raw.notify,
            smtp: raw.smtp.try_into()?,
            email: raw.email,
            schedule: raw.schedule,
            log: raw.log,
            encryption,
            webhooks,
        })
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
mod tests;
