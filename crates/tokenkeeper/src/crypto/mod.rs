//! Tokens at rest: `token` and `refresh_token` are sealed with AES-256-GCM before a store writes
//! them and opened after it reads them, so only a store and this module ever see ciphertext.
//!
//! AES-256-GCM rather than ChaCha20-Poly1305: the servers this runs on have AES instructions,
//! where GCM is the faster of the two, and RustCrypto's `aes-gcm` picks them at run time (with a
//! constant-time software fallback elsewhere). Each value gets a fresh random 96-bit nonce and
//! associated data naming its format, key, column and row, so a ciphertext copied to another
//! account or column does not open.
//!
//! Webhook signatures and the dashboard's password hash live here too: the other secrets the
//! service holds and uses.

mod cipher;
mod generate;
mod keyring;
mod password;
mod plaintext;
mod stored;
mod webhook_signature;

pub use cipher::{Column, OpenError, Row, SealedColumn, TokenCipher};
pub use generate::new_entry;
pub use keyring::{KeyId, Keyring, KeyringError, ACTIVE_KEY_SETTING, KEYS_SETTING};
pub use password::{check_password_hash, hash_password, password_matches};
pub use plaintext::{is_plaintext, Plaintext, ALLOW_PLAINTEXT_SETTING};
pub use webhook_signature::{WebhookSecret, WebhookSecretError};

#[cfg(test)]
mod tests;
