//! The dashboard's password: only its argon2 hash is configured, never the password itself.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use secrecy::{ExposeSecret, SecretString};

/// The PHC string of `password` under argon2id's default parameters and a fresh salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches `hash`; argon2 compares in constant time.
pub fn password_matches(hash: &SecretString, password: &str) -> bool {
    PasswordHash::new(hash.expose_secret()).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Whether `hash` is an argon2 PHC string that a password can be checked against; the message
/// never repeats the value.
pub fn check_password_hash(hash: &str) -> Result<(), String> {
    let how = "make one with `tokenkeeper admin hash-password`";
    let parsed =
        PasswordHash::new(hash).map_err(|e| format!("is not a PHC string ({e}); {how}"))?;
    let usable =
        parsed.hash.is_some() && parsed.salt.is_some() && argon2::Params::try_from(&parsed).is_ok();
    if !usable {
        return Err(format!(
            "is not a complete argon2 hash (parameters, salt and hash); {how}"
        ));
    }
    if argon2::Algorithm::try_from(parsed.algorithm).is_err() {
        return Err(format!("is not an argon2 hash; {how}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_made_here_is_usable_and_matches_only_its_password() {
        let hash = hash_password("correct horse").unwrap();
        assert_eq!(check_password_hash(&hash), Ok(()));
        let hash = SecretString::from(hash);
        assert!(password_matches(&hash, "correct horse"));
        assert!(!password_matches(&hash, "correct horse "));
        assert!(!password_matches(&SecretString::from(""), ""));
    }
}
