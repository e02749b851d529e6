//! Meta's three networks: Instagram (API with Instagram Login), Threads and Facebook Login.
//! None has refresh tokens. The code exchange gives a one-hour token, traded at once for a
//! 60-day one; that one is renewed by a GET exchange of the token itself: Instagram's
//! `ig_refresh_token` and Threads' `th_refresh_token` only inside [issued + 24 h, expiry),
//! Facebook's `fb_exchange_token` while it lives. Every failure is a Graph `OAuthException`
//! body, classified in one place (`graph_error`).
//!
//! Instagram and Threads share one flow (`instagram.rs`, Threads copies it with `th_`
//! names); Facebook's differs (`facebook.rs`). What all three share: the settings, the
//! networks' spellings (`network.rs`), the HTTP calls (`graph.rs`) and the bodies
//! (`responses.rs`).

mod facebook;
mod graph;
mod graph_error;
mod instagram;
mod network;
mod provider;
mod responses;
mod settings;

pub use provider::MetaClient;
pub use settings::{MetaEndpoints, MetaSettings};
