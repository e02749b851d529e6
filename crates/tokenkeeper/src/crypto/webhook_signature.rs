//! Webhook signatures as the Standard Webhooks specification defines them, so a receiver can
//! check them with any of its libraries: `v1,` and the base64 HMAC-SHA256, under the secret's
//! decoded bytes, of `{webhook-id}.{webhook-timestamp}.{body}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use std::fmt;

const PREFIX: &str = "whsec_";
/// The specification asks for 24 to 64 random bytes.
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// The signing secret, `whsec_` and base64 as the specification writes it. It never prints
/// itself.
#[derive(Clone)]
pub struct WebhookSecret(std::sync::Arc<SecretBox<Vec<u8>>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    #[error("expected whsec_ followed by base64")]
    Prefix,
    #[error("the part after whsec_ is not base64")]
    Base64,
    #[error("expected {MIN_BYTES} to {MAX_BYTES} random bytes, found {0}")]
    Length(usize),
}

impl WebhookSecret {
    pub fn parse(text: &str) -> Result<Self, WebhookSecretError> {
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(WebhookSecretError::Prefix)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookSecretError::Base64)?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return Err(WebhookSecretError::Length(bytes.len()));
        }
        Ok(Self(std::sync::Arc::new(SecretBox::new(Box::new(bytes)))))
    }

    /// A new random secret, as the specification writes it.
    pub fn generate() -> String {
        let bytes: [u8; 32] = rand::random();
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// The `webhook-signature` header's value for one message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(format!("{message_id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries.
    #[test]
    fn signs_as_the_specifications_example() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            WebhookSecretError::Prefix
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!").unwrap_err(),
            WebhookSecretError::Base64
        );
        assert_eq!(
            WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err(),
            WebhookSecretError::Length(5)
        );
        let generated = WebhookSecret::generate();
        let secret = WebhookSecret::parse(&generated).unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
    }
}
