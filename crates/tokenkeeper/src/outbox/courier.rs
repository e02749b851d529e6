//! What the engine asks of one outbox: the rows it claims, how one row is made ready and sent,
//! how an outcome is written, and the words its logs and counters use. The email side and the
//! webhook side each supply a courier; the loop, the claims and the retries are the engine's.

use super::RetrySchedule;
use crate::store::{Lease, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How an outbox's worker is paced, and how hard it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The bound on one send; claims are sized from it.
    pub timeout: Duration,
    /// A row that fails this many sends is given up.
    pub max_attempts: u32,
    pub retry: RetrySchedule,
    /// The pause between two passes of the worker.
    pub poll: Duration,
    /// Whether the worker's first pass comes as it starts, or one poll later.
    pub first_pass_at_start: bool,
}

impl Pace {
    /// A first pass as the worker starts (see `first_pass_after_poll`).
    pub fn new(timeout: Duration, max_attempts: u32, retry: RetrySchedule, poll: Duration) -> Self {
        Self {
            timeout,
            max_attempts,
            retry,
            poll,
            first_pass_at_start: true,
        }
    }

    /// The first pass comes one poll after the worker starts.
    pub fn first_pass_after_poll(self) -> Self {
        Self {
            first_pass_at_start: false,
            ..self
        }
    }
}

/// How an outbox is named in its logs and counters: "{noun} given up after its last
/// attempt", "{noun} not {sent}; will retry", "{noun} delivery pass failed".
#[derive(Debug)]
pub struct Words {
    pub noun: &'static str,
    /// What a send the far side took is called; also the counter's label value for it
    /// (`retry` and `failed` are the others).
    pub sent: &'static str,
    /// The counter of its sends, and the label that tells their outcome.
    pub metric: &'static str,
    pub label: &'static str,
}

impl Words {
    /// The noun, the word for sent, the counter and its label, in that order.
    pub const fn new(
        noun: &'static str,
        sent: &'static str,
        metric: &'static str,
        label: &'static str,
    ) -> Self {
        Self {
            noun,
            sent,
            metric,
            label,
        }
    }
}

/// A send the far side did not take: the text kept as the row's last error (already cut),
/// and the far side's status code where it answered with one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub status: Option<i32>,
}

impl Failure {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            status: None,
        }
    }
}

/// A claimed row, looked at before anything is sent.
pub enum Prepared<P> {
    Ready(P),
    /// No longer wanted: settled as cancelled, unsent.
    Cancelled(String),
    /// Never sendable (a kind this version does not know, a message that cannot be built):
    /// given up at once.
    Failed(Failure),
    /// Not sendable until the operator mends something (a template): tried again after the
    /// next pause, however many attempts it has had.
    Later(Failure),
}

/// What the owner of a row's claim writes: an outcome, under the claim's owner.
pub struct Mark<'a, R> {
    pub holder: &'a str,
    pub outcome: Outcome<'a, R>,
}

/// What one row came to.
pub enum Outcome<'a, R> {
    Sent {
        receipt: &'a R,
        at: DateTime<Utc>,
    },
    Retry {
        failure: &'a Failure,
        next_attempt_at: DateTime<Utc>,
    },
    Failed {
        failure: &'a Failure,
    },
    Cancelled {
        reason: &'a str,
    },
}

/// One outbox's side of the engine.
#[async_trait]
pub trait Courier: Send + Sync {
    /// A claimed row.
    type Row: Send + Sync;
    /// A row made ready to go: the email message, the webhook body.
    type Parcel: Send;
    /// What the far side answered when it took a row.
    type Receipt: Send + Sync;

    const WORDS: Words;

    fn pace(&self) -> Pace;
    fn now(&self) -> DateTime<Utc>;
    /// Completes when the courier's clock may have jumped (see `Clock::jumped`).
    fn clock_jumped(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;

    /// The sends the row has had so far.
    fn attempts(row: &Self::Row) -> u32;
    /// The span every line about the row is logged in.
    fn span(row: &Self::Row) -> tracing::Span;

    /// Claims up to `limit` due rows under `lease`, in id order.
    async fn claim(&self, lease: &Lease, limit: i64) -> Result<Vec<Self::Row>, StoreError>;

    fn prepare(&self, row: &Self::Row) -> Prepared<Self::Parcel>;

    /// Renews the row's claim to `lease.until` just before its send; `false` (logged) when
    /// the row is no longer ours or no longer wanted, and must not be sent.
    async fn renew(&self, row: &Self::Row, lease: &Lease) -> Result<bool, StoreError>;

    async fn send(&self, row: &Self::Row, parcel: Self::Parcel) -> Result<Self::Receipt, Failure>;

    /// Writes the outcome if `mark.holder` still holds the row's claim and the row is still
    /// pending; says whether it applied.
    async fn mark(
        &self,
        row: &Self::Row,
        mark: Mark<'_, Self::Receipt>,
    ) -> Result<bool, StoreError>;

    /// Logs a send the far side took, `recorded` or not; says whether the pass counts it.
    fn tell_sent(&self, row: &Self::Row, receipt: &Self::Receipt, recorded: bool) -> bool;

    /// Logs a pass that did something.
    fn tell_pass(tally: &super::Tally);
}
