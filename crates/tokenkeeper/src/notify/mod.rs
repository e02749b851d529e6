//! Reconnect emails: the email outbox's courier (the loop is the outbox engine's), the SMTP
//! (or file) transport, the templates, and the reminders planned ahead of time.

mod compose;
mod courier;
mod deliver;
mod email_templates;
mod networks;
mod plan;
mod render;
mod transport;

pub use compose::message_id;
pub use deliver::{Delivery, DeliveryReport};
pub use email_templates::RenderError;
pub use networks::NetworkNames;
pub use plan::plan_reminders;
pub use render::{RenderedEmail, Renderer, TemplateError};
pub use transport::{Transport, TransportError};
