//! The configuration as written by people: one plain section per concern, each with its
//! defaults. Every key exists in the defaults, so a file value for a key that is not there,
//! or of the wrong type, is refused by serde under the key's name.

use super::admin::AdminSettings;
use super::api::ApiSettings;
use super::connect::ConnectSettings;
use super::email::EmailSettings;
use super::encryption::RawEncryption;
use super::http::RawHttp;
use super::linkedin::LinkedInSettings;
use super::log::LogSettings;
use super::notify::Notify;
use super::refresh::RefreshSettings;
use super::schedule::ScheduleSettings;
use super::smtp::RawSmtp;
use super::webhooks::RawWebhooks;
use crate::domain::NotificationPolicy;
use serde::{Deserialize, Serialize};

/// The field order is the order `tokenkeeper config` prints the sections in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; its password is never printed.
    pub database_url: String,
    pub http: RawHttp,
    pub api: ApiSettings,
    pub admin: AdminSettings,
    pub linkedin: LinkedInSettings,
    pub connect: ConnectSettings,
    pub refresh: RefreshSettings,
    #[serde(with = "Notify")]
    pub notify: NotificationPolicy,
    pub smtp: RawSmtp,
    pub email: EmailSettings,
    pub schedule: ScheduleSettings,
    pub log: LogSettings,
    pub encryption: RawEncryption,
    pub webhooks: RawWebhooks,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://tokenkeeper.db".into(),
            http: RawHttp::default(),
            api: ApiSettings::default(),
            admin: AdminSettings::default(),
            linkedin: LinkedInSettings::default(),
            connect: ConnectSettings::default(),
            refresh: RefreshSettings::default(),
            notify: NotificationPolicy::default(),
            smtp: RawSmtp::default(),
            email: EmailSettings::default(),
            schedule: ScheduleSettings::default(),
            log: LogSettings::default(),
            encryption: RawEncryption::default(),
            webhooks: RawWebhooks::default(),
        }
    }
}
