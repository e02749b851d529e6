//! The `[admin]` section: the operators' dashboard at `/admin`, off unless a password hash is
//! set. Only the argon2 hash is configured, never the password: `tokenkeeper admin
//! hash-password` makes one.

use super::check::shown_secret;
use super::error::{invalid, ConfigError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAdmin {
    /// An argon2 PHC string (`$argon2id$v=19$...`); empty turns the dashboard off.
    pub password_hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct AdminSettings {
    /// Held as a secret: the hash of a weak password can be attacked offline.
    pub password_hash: Option<SecretString>,
}

impl AdminSettings {
    pub fn enabled(&self) -> bool {
        self.password_hash.is_some()
    }
}

impl TryFrom<RawAdmin> for AdminSettings {
    type Error = ConfigError;

    fn try_from(raw: RawAdmin) -> Result<Self, ConfigError> {
        let hash = raw.password_hash.trim();
        if hash.is_empty() {
            return Ok(Self::default());
        }
        // The value itself is never repeated in the message.
        let parsed = argon2::PasswordHash::new(hash).map_err(|e| {
            invalid(
                "admin.password_hash",
                format!(
                    "is not a PHC string ({e}); make one with `tokenkeeper admin hash-password`"
                ),
            )
        })?;
        let usable = parsed.hash.is_some()
            && parsed.salt.is_some()
            && argon2::Params::try_from(&parsed).is_ok();
        if !usable {
            return Err(invalid(
                "admin.password_hash",
                "is not a complete argon2 hash (parameters, salt and hash); make one with `tokenkeeper admin hash-password`",
            ));
        }
        if argon2::Algorithm::try_from(parsed.algorithm).is_err() {
            return Err(invalid(
                "admin.password_hash",
                "is not an argon2 hash; make one with `tokenkeeper admin hash-password`",
            ));
        }
        Ok(Self {
            password_hash: Some(SecretString::from(hash.to_owned())),
        })
    }
}

/// The section as printed, its hash redacted.
impl From<&AdminSettings> for RawAdmin {
    fn from(admin: &AdminSettings) -> Self {
        Self {
            password_hash: admin
                .password_hash
                .as_ref()
                .map(shown_secret)
                .unwrap_or_default(),
        }
    }
}

/// The PHC string of `password` under argon2id's default parameters and a fresh salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the configured hash; argon2 compares in constant time.
pub fn password_matches(settings: &AdminSettings, password: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    let Some(hash) = &settings.password_hash else {
        return false;
    };
    argon2::PasswordHash::new(hash.expose_secret())
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_made_here_is_accepted_and_matches_only_its_password() {
        let hash = hash_password("correct horse").unwrap();
        let settings = AdminSettings::try_from(RawAdmin {
            password_hash: hash,
        })
        .unwrap();
        assert!(password_matches(&settings, "correct horse"));
        assert!(!password_matches(&settings, "correct horse "));
        assert!(!password_matches(&AdminSettings::default(), ""));
    }

    #[test]
    fn a_malformed_or_foreign_hash_is_refused_without_being_repeated() {
        for bad in [
            "hunter2-plain",
            "$argon2id$v=19$m=oops",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaA",
        ] {
            let error = AdminSettings::try_from(RawAdmin {
                password_hash: bad.into(),
            })
            .unwrap_err()
            .to_string();
            assert!(error.contains("admin.password_hash"), "{error}");
            assert!(!error.contains(bad), "{error}");
        }
    }
}
