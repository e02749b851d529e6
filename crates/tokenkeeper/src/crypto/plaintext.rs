//! Whether a stored value without the sealed form is read as a token.
//!
//! Versions before encryption stored bare tokens, so an upgraded database may hold some until
//! `keys rotate` seals them. But a bare value needs no key to write: anyone who can write to
//! the database could plant a token of their choosing in any row, and it would be served and
//! refreshed as the member's. So plaintext is read only while it is allowed: by
//! `encryption.allow_plaintext`, or, when that is not set, by what the database recorded when
//! this version first migrated it (allowed only if it then held plaintext).

use super::stored::Stored;

/// The setting, as messages name it.
pub const ALLOW_PLAINTEXT_SETTING: &str = "encryption.allow_plaintext";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plaintext {
    /// Read as the token it is (a database upgraded from before encryption).
    Accepted,
    /// An error naming the row, never a token.
    Refused,
}

impl Plaintext {
    pub fn allowed(allowed: bool) -> Self {
        if allowed {
            Self::Accepted
        } else {
            Self::Refused
        }
    }
}

/// Whether `stored` is a bare token: what [`Plaintext`] decides about.
pub fn is_plaintext(stored: &str) -> bool {
    matches!(Stored::classify(stored), Stored::Legacy(_))
}
