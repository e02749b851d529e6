//! LinkedIn's OAuth endpoints, and the one place that knows LinkedIn's quirks: no
//! `token_type` in token responses, client credentials in the form body, scopes separated by
//! commas or spaces, and errors that must be classified before anyone acts on them. The rest
//! of tokenkeeper sees it through `crate::provider::Provider` (`provider.rs`).

mod client;
mod error;
mod introspection;
mod provider;
mod responses;

pub use client::{LinkedInClient, UserInfo};
pub use error::{FailureClass, LinkedInError};
pub use introspection::Introspection;
