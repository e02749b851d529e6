//! How a call to a provider failed, and what that means for the account: the one taxonomy the
//! refresh engine, the connect flow, the import and the doctor act on, whatever the network.
//! Each provider classifies its own answers (LinkedIn's `invalid_request` "...is missing",
//! X's `400 invalid_request` for a dead token, Graph's `OAuthException` 190) into these
//! classes, so that nobody else parses a network's error bodies.

use std::sync::Arc;
use std::time::Duration;

/// What a failure means for the account, decided by the provider that got the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// May pass by itself: network trouble, timeouts, 5xx, 429. Retry later.
    Transient,
    /// Only the member can fix it by connecting again: the grant or refresh token is invalid,
    /// expired or revoked.
    Permanent,
    /// Our own fault (bad client credentials, a missing parameter): never the member's, so
    /// nobody is emailed; the operator must act.
    Misconfiguration,
    /// An answer about this one account that the network does not document (a restricted
    /// member, say): neither ours to fix nor proven final. The account fails this slot and, if
    /// it keeps being refused, its member is asked to reconnect. Only repetition across several
    /// accounts turns it into a misconfiguration.
    Rejected,
}

/// A failed call to a provider. Its text names the network (`network`, as people write it:
/// "LinkedIn") and never carries a token or a secret: it goes to logs, `last_error` and
/// `refresh_log` as it is.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ProviderError {
    pub network: Arc<str>,
    pub failure: Failure,
}

/// What went wrong, the same kinds for every network.
#[derive(Debug)]
pub enum Failure {
    /// No answer in time.
    Timeout,
    /// No connection (refused, reset, DNS): the detail is safe to log.
    Connect(String),
    /// 429, with the pause the network asked for, if it asked.
    RateLimited { retry_after: Option<Duration> },
    /// An error answer, classified by the provider.
    Status {
        status: u16,
        /// The OAuth `error` code or the API's own error code, when the body had one.
        code: Option<String>,
        message: String,
        class: FailureClass,
    },
    /// A success we cannot read.
    Malformed(String),
    /// The network does not offer this (revocation, introspection...): asking was our mistake.
    Unsupported(&'static str),
}

impl ProviderError {
    pub fn new(network: impl Into<Arc<str>>, failure: Failure) -> Self {
        Self {
            network: network.into(),
            failure,
        }
    }

    fn describe(&self) -> String {
        let network = &self.network;
        match &self.failure {
            Failure::Timeout => format!("{network} did not answer in time"),
            Failure::Connect(detail) => format!("could not reach {network}: {detail}"),
            Failure::RateLimited { .. } => format!("{network} is rate limiting us (429)"),
            Failure::Status {
                status, message, ..
            } => format!("{network} answered {status}: {message}"),
            Failure::Malformed(detail) => {
                format!("{network} sent a response we cannot read: {detail}")
            }
            Failure::Unsupported(what) => format!("{network} does not offer {what}"),
        }
    }

    pub fn class(&self) -> FailureClass {
        match &self.failure {
            Failure::Timeout | Failure::Connect(_) | Failure::RateLimited { .. } => {
                FailureClass::Transient
            }
            Failure::Status { class, .. } => *class,
            // A 200 with a body we cannot parse is the network changing under us or a proxy
            // in the way: retrying later is the sensible default.
            Failure::Malformed(_) => FailureClass::Transient,
            Failure::Unsupported(_) => FailureClass::Misconfiguration,
        }
    }

    /// No answer arrived at all (refused, reset, timed out before any response): the only
    /// failures after which a single-use authorization code may be sent again.
    pub fn no_answer(&self) -> bool {
        matches!(self.failure, Failure::Timeout | Failure::Connect(_))
    }

    /// What the network does not offer, when asking for it was the failure (no userinfo or
    /// introspection endpoint): nothing was sent, and nothing asked again would change it.
    pub fn not_offered(&self) -> Option<&'static str> {
        match self.failure {
            Failure::Unsupported(what) => Some(what),
            _ => None,
        }
    }

    pub fn is_rate_limited(&self) -> bool {
        matches!(self.failure, Failure::RateLimited { .. })
    }

    pub fn http_status(&self) -> Option<u16> {
        match &self.failure {
            Failure::Status { status, .. } => Some(*status),
            Failure::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match &self.failure {
            Failure::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match &self.failure {
            Failure::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// The same answer, read by a caller that knows better what it means in its context (a
    /// 403 at userinfo during an import is about that token's scopes, not our client).
    pub fn reclassified(mut self, to: FailureClass) -> Self {
        if let Failure::Status { class, .. } = &mut self.failure {
            *class = to;
        }
        self
    }
}
