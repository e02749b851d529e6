//! Tests against the providers other than LinkedIn: real servers where one can run here (an
//! OpenID provider), fakes where none can.

pub mod meta;
pub mod networks;
pub mod oidc;
pub mod oidc_discovery;
pub mod oidc_harness;
