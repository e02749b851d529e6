//! The outbox engine both outboxes run, email notifications and webhook events: claims sized
//! to outlive their work, one owner per claim, a renewal just before each send, the owner's
//! marks, and one retry schedule; the loop that runs a pass every poll is
//! `workers/outbox.rs`. Each outbox supplies a [`Courier`]: its rows, its transport
//! and its words (`notify::Delivery`, `webhooks::WebhookDelivery`). The statements behind the
//! claims and marks are shared the same way, in `store/sql/outbox_table.rs`.

mod claim;
mod courier;
mod retry;
mod worker;

pub use claim::ClaimPlan;
pub use courier::{Courier, Failure, Mark, Outcome, Pace, Prepared, Words};
pub use retry::RetrySchedule;
pub use worker::{deliver_pending, Tally};
