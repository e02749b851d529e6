//! What goes wrong while loading the configuration, and how figment's own errors are told in
//! the configuration's words: the key's dotted name, what was expected, and the file a bad
//! value came from.

use figment::error::{Actual, Kind};
use figment::{Figment, Metadata, Source};

/// How errors and figment's metadata name the environment layer (config/env.rs), so a
/// refusal can say which variable set the value.
pub(super) const PREFIX: &str = "TOKENKEEPER_";
/// Joins a section and a key in a variable's name.
pub(super) const SEPARATOR: &str = "__";

/// The variable that sets `key`: `http.bind` -> `TOKENKEEPER_HTTP__BIND`.
pub(super) fn variable(key: &str) -> String {
    format!(
        "{PREFIX}{}",
        key.replace('.', SEPARATOR).to_ascii_uppercase()
    )
}

pub(super) const ENV_ORIGIN: &str = "`TOKENKEEPER_` environment variable(s)";

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
    /// Every key without a default that is not set, named at once.
    #[error("{} required configuration key(s) not set: {}", keys.len(), missing(keys))]
    Missing { keys: Vec<Required> },
    #[error("environment variable {var} does not name a configuration key (expected TOKENKEEPER_<KEY> or TOKENKEEPER_<SECTION>__<KEY>)")]
    UnknownVariable { var: String },
    /// Names the setting and the entry's position or key id, never a key.
    #[error(transparent)]
    Keyring(crate::crypto::KeyringError),
}

/// A key without a default, and what to put there.
pub type Required = (&'static str, &'static str);

fn missing(keys: &[Required]) -> String {
    let named = keys
        .iter()
        .map(|(key, what)| format!("`{key}`, {what} ({})", variable(key)));
    named.collect::<Vec<_>>().join("; ")
}

pub(super) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message: message.into(),
    }
}

impl ConfigError {
    /// A key's refusal, told with where its value came from: the file, or the variable.
    pub(super) fn with_origin(self, layers: &Figment) -> Self {
        let ConfigError::Invalid { key, message } = self else {
            return self;
        };
        let message = with_origin(message, &key, layers.find_metadata(&key));
        ConfigError::Invalid { key, message }
    }
}

/// Where the value of `key` came from: `("in", the file)` or `("set by", the variable)`;
/// `None` for a default.
pub(super) fn origin(key: &str, metadata: Option<&Metadata>) -> Option<(&'static str, String)> {
    match metadata? {
        Metadata {
            source: Some(Source::File(path)),
            ..
        } => Some(("in", path.display().to_string())),
        metadata if metadata.name == ENV_ORIGIN => Some(("set by", variable(key))),
        _ => None,
    }
}

/// `message`, told with where the value of `key` came from.
fn with_origin(message: String, key: &str, metadata: Option<&Metadata>) -> String {
    match origin(key, metadata) {
        Some((how, whence)) => format!("{message} ({how} {whence})"),
        None => message,
    }
}

impl From<figment::Error> for ConfigError {
    /// Only the first of figment's errors is told: the program stops at one anyway.
    fn from(error: figment::Error) -> Self {
        // A list's entries are told by the list's key: figment adds the entry's index.
        let path: Vec<&str> = error
            .path
            .iter()
            .map(String::as_str)
            .filter(|part| !part.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        let mut key = path.join(".");
        let message = match &error.kind {
            Kind::UnknownField(field, _) => {
                // figment names the unknown key in the path already, but not at the top level.
                if path.last() != Some(&field.as_str()) {
                    key = match path.is_empty() {
                        true => field.clone(),
                        false => format!("{key}.{field}"),
                    };
                }
                "unknown key".to_owned()
            }
            // Only a provider's `kind` has no default.
            Kind::MissingField(field) => {
                key = match path.is_empty() {
                    true => field.to_string(),
                    false => format!("{key}.{field}"),
                };
                "required".to_owned()
            }
            // Every number of the configuration is a count or a duration.
            Kind::InvalidValue(Actual::Signed(n), _) if *n < 0 => {
                format!("expected 0 or more, found {n}")
            }
            Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
                format!(
                    "expected {}, found {}",
                    expected_name(expected),
                    actual_name(actual)
                )
            }
            other => other.to_string(),
        };
        let message = with_origin(message, &key, error.metadata.as_ref());
        if key.is_empty() {
            key = "(configuration)".to_owned();
        }
        ConfigError::Invalid { key, message }
    }
}

/// Serde's name of the type a key wanted, in the words of a TOML file's reader.
fn expected_name(expected: &str) -> &'static str {
    if expected.starts_with("struct ") {
        "a [section] table"
    } else if expected.starts_with('u') || expected.starts_with('i') {
        "an integer"
    } else if expected.contains("bool") {
        "true or false"
    } else if expected.contains("sequence") || expected.contains("list") {
        "a list"
    } else if expected.starts_with('f') {
        "a number"
    } else {
        "a string"
    }
}

fn actual_name(actual: &Actual) -> String {
    match actual {
        Actual::Str(_) | Actual::Char(_) => "a string".to_owned(),
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer".to_owned(),
        Actual::Float(_) => "a number".to_owned(),
        Actual::Bool(_) => "true or false".to_owned(),
        Actual::Seq => "a list".to_owned(),
        Actual::Map => "a table".to_owned(),
        other => other.to_string(),
    }
}
