//! A provider of kind `oidc`: any OpenID Connect server, described by its issuer's discovery
//! document rather than by configuration.

mod client;
pub mod discovery;

pub use client::OidcClient;
