//! tokenkeeper keeps the LinkedIn connections of an application's users alive: it stores the
//! tokens from a connect flow, refreshes them before they expire, and emails a one-click
//! reconnect link when LinkedIn leaves no other way.

pub mod accounts_table;
pub mod app;
pub mod cli;
pub mod config;
pub mod connect_link;
pub mod crypto;
#[cfg(feature = "demo")]
pub mod demo;
pub mod doctor;
pub mod domain;
pub mod html;
pub mod http;
pub mod import;
pub mod key_rotation;
pub mod notify;
pub mod outbox;
pub mod provider;
pub mod readiness;
pub mod refresh;
pub mod report;
pub mod secret_values;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod token_reads;
pub mod webhooks;
pub mod workers;

/// LinkedIn's client keeps its path: it is one provider, `provider::linkedin`.
pub use provider::linkedin;

#[cfg(test)]
mod no_import_cycles;
