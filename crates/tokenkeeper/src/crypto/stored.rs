//! The text form of a token column: `tk1:<kid>:<base64url(nonce || ciphertext || tag)>` for a
//! sealed value, or the bare token that versions before encryption wrote.
//!
//! Telling them apart relies on one fact: a LinkedIn access or refresh token is an opaque
//! base64url-like string (letters, digits, `-`, `_`, `.`, `~`, `+`, `/`, `=`) and never contains
//! `:`. So a value without `:` is legacy plaintext, and a value with one is in the sealed
//! format, whatever its version: one we cannot read is an error, never taken for a token.
//! Legacy plaintext is read only where the operator or the database allows it (see
//! `Plaintext`): anyone who can write to the database can write a bare token. An empty value
//! is no token at all, whatever is allowed.

/// Names the layout and the associated data of version 1; a later layout gets `tk2`.
pub(super) const VERSION_1: &str = "tk1";
pub(super) const NONCE_LEN: usize = 12;
pub(super) const TAG_LEN: usize = 16;

/// What a stored column value is, before any key is used.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stored<'a> {
    /// Nothing: never a token, not even an empty one.
    Empty,
    /// Written by a version before encryption: the token itself.
    Legacy(&'a str),
    /// `tk1:<kid>:<payload>`, with the payload still base64url.
    SealedV1 { kid: &'a str, payload: &'a str },
    /// Has a `:`, so it is not a token, but is no format this version reads.
    Unreadable,
}

impl<'a> Stored<'a> {
    pub(super) fn classify(stored: &'a str) -> Self {
        if stored.is_empty() {
            return Self::Empty;
        }
        let Some((version, rest)) = stored.split_once(':') else {
            return Self::Legacy(stored);
        };
        match (version, rest.split_once(':')) {
            (VERSION_1, Some((kid, payload))) if !kid.is_empty() && !payload.contains(':') => {
                Self::SealedV1 { kid, payload }
            }
            _ => Self::Unreadable,
        }
    }
}

pub(super) fn format_v1(kid: &str, payload: &str) -> String {
    format!("{VERSION_1}:{kid}:{payload}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkedin_shaped_tokens_are_legacy() {
        for token in [
            "AQXdSP_W41_UPs5ioT_t8HESyODB4FqbkJ8LrV_5mff4gPODzOYR",
            "AQV.a-b~c+d/e=",
        ] {
            assert_eq!(Stored::classify(token), Stored::Legacy(token));
        }
    }

    #[test]
    fn an_empty_value_is_empty_never_a_legacy_token() {
        assert_eq!(Stored::classify(""), Stored::Empty);
        // A single space is a value: legacy, and refused unless plaintext is allowed.
        assert_eq!(Stored::classify(" "), Stored::Legacy(" "));
    }

    #[test]
    fn the_sealed_form_is_split_into_kid_and_payload() {
        assert_eq!(
            Stored::classify("tk1:2026-01:AAAA"),
            Stored::SealedV1 {
                kid: "2026-01",
                payload: "AAAA"
            }
        );
    }

    #[test]
    fn anything_with_a_colon_that_is_not_v1_is_unreadable_never_legacy() {
        for stored in ["tk2:k:AAAA", "tk1:AAAA", "tk1::AAAA", "tk1:k:AA:AA", "x:y"] {
            assert_eq!(Stored::classify(stored), Stored::Unreadable, "{stored}");
        }
    }
}
