//! Webhooks: the host app hears about its members' accounts without polling. Events are
//! written by the store in the transaction of each state change (see `store/sql/webhooks.rs`);
//! here they become signed requests (Standard Webhooks), delivered at least once by a worker
//! that `serve` supervises (the outbox engine, `crate::outbox`, with this outbox's courier),
//! with retries and exponential backoff, and marked failed after the last attempt.

mod courier;
mod deliver;
mod payload;
mod sender;

pub use deliver::{WebhookDelivery, WebhookReport};
pub use payload::{event_body, ping_body};
pub use sender::{Answer, SendError, Sender};
