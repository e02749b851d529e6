//! A standard OAuth 2.0 client (RFC 6749, with RFC 7009 revocation, RFC 7662 introspection
//! and OpenID Connect's userinfo when configured), and the base the named networks reuse:
//! X, Google and TikTok are this client with their settings (`x::settings`...) and their
//! `Dialect`, the few answers where they depart from the standard.

mod classify;
mod client;
mod dialect;
mod provider;
mod responses;
mod settings;

pub use classify::{api_error, names_a_missing_parameter, token_error};
pub use client::OAuth2Client;
pub use dialect::{Dialect, Standard};
pub use responses::OAuthErrorBody;
pub(crate) use settings::known_url;
pub use settings::{ClientAuth, OAuth2Settings};
