//! Restarting a task that panicked, for the tasks that live outside the supervisor: those
//! that serve requests and end when their queue closes (`token_reads.rs`).

use std::future::Future;

/// Runs what `start` makes in a task of its own, and again each time it panics, until it
/// returns. `what` names it in the log line of each restart.
pub async fn restart_on_panic<F, Fut>(what: &'static str, mut start: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(start()).await {
            Err(error) if error.is_panic() => {
                tracing::error!("{what} panicked; starting it again");
            }
            _ => return,
        }
    }
}
