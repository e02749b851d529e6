//! Reconnect emails: the outbox delivery worker, the SMTP (or file) transport, the templates,
//! and the reminders planned ahead of time.

mod claim;
mod deliver;
mod email_templates;
mod plan;
mod render;
mod transport;

pub use claim::ClaimPlan;
pub use deliver::{message_id, Delivery, DeliveryReport};
pub use email_templates::RenderError;
pub use plan::plan_reminders;
pub use render::{RenderedEmail, Renderer, TemplateError};
pub use transport::{Transport, TransportError};
