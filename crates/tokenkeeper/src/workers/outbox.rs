//! The outbox workers of `serve`, email and webhooks alike: a delivery pass
//! ([`deliver_pending`]) every poll, under the supervisor: email sends what is due as it
//! starts, then every `smtp.poll_seconds`; webhooks the first time one `webhooks.poll_seconds`
//! after it starts.

use crate::outbox::{deliver_pending, Courier, Tally};

/// Runs a pass every poll until the task is dropped; logs each pass that did something.
pub async fn run<C: Courier>(courier: C) {
    let pace = courier.pace();
    if !pace.first_pass_at_start {
        tokio::time::sleep(pace.poll).await;
    }
    loop {
        match deliver_pending(&courier).await {
            Ok(tally) if tally == Tally::default() => {}
            Ok(tally) => C::tell_pass(&tally),
            Err(e) => tracing::error!(
                error = %crate::telemetry::error_chain(&e),
                "{} delivery pass failed",
                C::WORDS.noun
            ),
        }
        // A simulated clock that jumps makes rows due at once: no need to wait the poll out.
        tokio::select! {
            () = tokio::time::sleep(pace.poll) => {}
            () = courier.clock_jumped() => {}
        }
    }
}
