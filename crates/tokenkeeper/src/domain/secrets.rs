use secrecy::{ExposeSecret, SecretString};
use std::fmt;

macro_rules! secret_token {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A network's ", $what, ". It never prints itself: Debug shows a placeholder.")]
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(raw: impl Into<String>) -> Self {
                Self(SecretString::from(raw.into()))
            }

            /// The raw value, for the one place that must send or store it.
            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Eq for $name {}

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose() == other.expose()
            }
        }
    };
}

secret_token!(AccessToken, "access token");
secret_token!(RefreshToken, "refresh token");
secret_token!(
    PkceVerifier,
    "PKCE code verifier (RFC 7636), kept with a connect attempt until its code exchange"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let token = AccessToken::new("AQX-very-secret");
        assert!(!format!("{token:?}").contains("very-secret"));
        assert_eq!(token.expose(), "AQX-very-secret");
    }
}
