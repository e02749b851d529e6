//! A provider of kind `oidc`: any OpenID Connect server, described by its issuer's discovery
//! document rather than by configuration.

pub mod discovery;
