//! The delivery loop both outboxes run: claim the due rows under a new owner, and for each
//! row, make it ready, renew its claim, send it, and write the outcome as the claim's owner; a
//! failed send is tried again after the retry schedule's pause until its last attempt.
//! Delivery is at least once: a crash between the far side taking a row and the row being
//! marked sends it again at a later pass.

use super::courier::{Courier, Failure, Mark, Outcome, Pace, Prepared, Words};
use super::ClaimPlan;
use crate::store::{Lease, StoreError};
use tracing::Instrument;

/// What one pass came to, row by row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub sent: u64,
    pub retrying: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Claimed but not sent: no longer wanted, or taken over by another worker, before its
    /// turn came.
    pub skipped: u64,
}

/// Sends every row due now; returns what happened.
pub async fn deliver_pending<C: Courier>(courier: &C) -> Result<Tally, StoreError> {
    let pace = courier.pace();
    let plan = ClaimPlan::for_timeout(pace.timeout);
    let mut tally = Tally::default();
    loop {
        let now = courier.now();
        // A new owner for every claim: a row this worker lost and claimed again is a new
        // claim, and writes under the old one must not count.
        let lease = Lease {
            holder: uuid::Uuid::new_v4().to_string(),
            now,
            until: now + plan.batch_lease,
        };
        let batch = courier.claim(&lease, plan.batch).await?;
        if batch.is_empty() {
            return Ok(tally);
        }
        let mut pass = Pass {
            courier,
            pace,
            plan,
            holder: &lease.holder,
            tally: &mut tally,
        };
        for row in batch {
            let span = C::span(&row);
            pass.deliver(row).instrument(span).await?;
        }
    }
}

/// One claim's rows, delivered under its owner.
struct Pass<'a, C: Courier> {
    courier: &'a C,
    pace: Pace,
    plan: ClaimPlan,
    holder: &'a str,
    tally: &'a mut Tally,
}

impl<C: Courier> Pass<'_, C> {
    async fn deliver(&mut self, row: C::Row) -> Result<(), StoreError> {
        let Some(parcel) = self.prepare(&row).await? else {
            return Ok(());
        };
        // The batch's claim was taken long ago: check, just before sending, that the row is
        // still ours and still wanted, and hold it for as long as this one send may take.
        let now = self.courier.now();
        let renewal = Lease {
            holder: self.holder.to_owned(),
            now,
            until: now + self.plan.message_lease,
        };
        if !self.courier.renew(&row, &renewal).await? {
            self.tally.skipped += 1;
            return Ok(());
        }
        match self.courier.send(&row, parcel).await {
            Ok(receipt) => {
                let at = self.courier.now();
                let sent = Outcome::Sent {
                    receipt: &receipt,
                    at,
                };
                let recorded = self.mark(&row, sent).await?;
                if self.courier.tell_sent(&row, &receipt, recorded) {
                    self.count(C::WORDS.sent);
                    self.tally.sent += 1;
                }
            }
            Err(failure) => self.failed(&row, &failure).await?,
        }
        Ok(())
    }

    /// The row's parcel, or `None` once a row that is not to be sent is settled.
    async fn prepare(&mut self, row: &C::Row) -> Result<Option<C::Parcel>, StoreError> {
        match self.courier.prepare(row) {
            Prepared::Ready(parcel) => return Ok(Some(parcel)),
            Prepared::Cancelled(reason) => {
                if self
                    .mark(row, Outcome::Cancelled { reason: &reason })
                    .await?
                {
                    self.tally.cancelled += 1;
                }
            }
            Prepared::Failed(failure) => {
                if self
                    .mark(row, Outcome::Failed { failure: &failure })
                    .await?
                {
                    self.tally.failed += 1;
                }
            }
            Prepared::Later(failure) => {
                let next_attempt_at =
                    self.courier.now() + self.pace.retry.after(C::attempts(row) + 1);
                let retry = Outcome::Retry {
                    failure: &failure,
                    next_attempt_at,
                };
                if self.mark(row, retry).await? {
                    self.tally.retrying += 1;
                }
            }
        }
        Ok(None)
    }

    /// A send the far side did not take: tried again after a pause, or given up after its
    /// last attempt.
    async fn failed(&mut self, row: &C::Row, failure: &Failure) -> Result<(), StoreError> {
        let attempts = C::attempts(row) + 1;
        let error = failure.error.as_str();
        if attempts >= self.pace.max_attempts {
            if self.mark(row, Outcome::Failed { failure }).await? {
                self.count("failed");
                let noun = C::WORDS.noun;
                tracing::error!(attempts, error, "{noun} given up after its last attempt");
                self.tally.failed += 1;
            }
            return Ok(());
        }
        let delay = self.pace.retry.after(attempts);
        let retry = Outcome::Retry {
            failure,
            next_attempt_at: self.courier.now() + delay,
        };
        if self.mark(row, retry).await? {
            self.count("retry");
            let Words { noun, sent, .. } = C::WORDS;
            let retry_in_seconds = delay.num_seconds();
            tracing::warn!(
                attempts,
                error,
                retry_in_seconds,
                "{noun} not {sent}; will retry"
            );
            self.tally.retrying += 1;
        }
        Ok(())
    }

    async fn mark(
        &self,
        row: &C::Row,
        outcome: Outcome<'_, C::Receipt>,
    ) -> Result<bool, StoreError> {
        let holder = self.holder;
        self.courier.mark(row, Mark { holder, outcome }).await
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!(C::WORDS.metric, C::WORDS.label => outcome).increment(1);
    }
}
