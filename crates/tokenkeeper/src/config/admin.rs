//! The `[admin]` section: the operators' dashboard at `/admin`, off unless a password hash is
//! set. Only the argon2 hash is configured, never the password: `tokenkeeper admin
//! hash-password` makes one.

use super::error::{invalid, ConfigError};
use super::field::{redacted, text};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// An argon2 PHC string (`$argon2id$v=19$...`); empty turns the dashboard off. Held as a
    /// secret: the hash of a weak password can be attacked offline.
    #[serde(deserialize_with = "checked_hash", serialize_with = "redacted")]
    pub password_hash: Option<SecretString>,
}

impl AdminSettings {
    pub fn enabled(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// The settings of one hash, checked as the key is (`admin hash-password`'s test reads its
/// output back).
impl TryFrom<&str> for AdminSettings {
    type Error = ConfigError;

    fn try_from(hash: &str) -> Result<Self, ConfigError> {
        let password_hash =
            password_hash(hash).map_err(|message| invalid("admin.password_hash", message))?;
        Ok(Self { password_hash })
    }
}

fn checked_hash<'de, D: Deserializer<'de>>(hash: D) -> Result<Option<SecretString>, D::Error> {
    text(hash, |hash| password_hash(&hash))
}

/// The hash, or `None` when empty; the message never repeats the value.
fn password_hash(hash: &str) -> Result<Option<SecretString>, String> {
    let hash = hash.trim();
    if hash.is_empty() {
        return Ok(None);
    }
    crate::crypto::check_password_hash(hash)?;
    Ok(Some(SecretString::from(hash.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_made_here_is_accepted() {
        let hash = crate::crypto::hash_password("correct horse").unwrap();
        assert!(AdminSettings::try_from(hash.as_str()).unwrap().enabled());
    }

    #[test]
    fn a_malformed_or_foreign_hash_is_refused_without_being_repeated() {
        for bad in [
            "hunter2-plain",
            "$argon2id$v=19$m=oops",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaA",
        ] {
            let error = AdminSettings::try_from(bad).unwrap_err().to_string();
            assert!(error.contains("admin.password_hash"), "{error}");
            assert!(!error.contains(bad), "{error}");
        }
    }
}
