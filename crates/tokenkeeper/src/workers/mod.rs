//! The background tasks, in one place. `serve` runs each under the [`Supervisor`], which
//! restarts one that dies: the [`Scheduler`] (a sweep per slot), the outbox workers
//! ([`run_outbox`], email and webhooks), the [`ConnectPurger`], the [`ReportGauges`] and the
//! [`RateLimitCleaner`]. The token readers, which end with their queue, are restarted by
//! [`restart_on_panic`]. The [`Housekeeping`] runs after every sweep, in the sweep itself.

mod connect_purge;
mod housekeeping;
mod outbox;
mod rate_limit_cleaner;
mod report_gauges;
mod restart;
mod scheduler;
mod scheduler_progress;
mod supervisor;

pub use connect_purge::ConnectPurger;
pub use housekeeping::Housekeeping;
pub use outbox::run as run_outbox;
pub use rate_limit_cleaner::RateLimitCleaner;
pub use report_gauges::ReportGauges;
pub use restart::restart_on_panic;
pub use scheduler::Scheduler;
pub use scheduler_progress::SchedulerProgress;
pub use supervisor::{Supervisor, TaskHealth};
