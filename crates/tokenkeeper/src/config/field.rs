//! How a key's value becomes the typed value the program runs with, and back for printing.
//! Each section names these next to its fields (`#[serde(with = ...)]`), so a key's type, its
//! range and its check are written once, where the key is.

use secrecy::{ExposeSecret, SecretString};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// A key's text, read by `parse`; its error is the message the refusal gives after the key.
pub(super) fn text<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl FnOnce(String) -> Result<T, String>,
) -> Result<T, D::Error> {
    parse(String::deserialize(deserializer)?).map_err(D::Error::custom)
}

/// How a secret is printed: a marker, or nothing when it is not set.
pub(super) fn redacted<S: Serializer>(secret: &impl Secret, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(if secret.is_set() { "[redacted]" } else { "" })
}

pub(super) trait Secret {
    fn is_set(&self) -> bool;
}

impl Secret for SecretString {
    fn is_set(&self) -> bool {
        !self.expose_secret().is_empty()
    }
}

impl<T: Secret> Secret for Option<T> {
    fn is_set(&self) -> bool {
        self.as_ref().is_some_and(Secret::is_set)
    }
}
