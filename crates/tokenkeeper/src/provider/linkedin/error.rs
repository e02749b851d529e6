pub use crate::provider::FailureClass;
use crate::provider::{Failure, ProviderError};
use std::time::Duration;

/// How LinkedIn is named in every error text.
pub const NETWORK: &str = "LinkedIn";

#[derive(Debug, thiserror::Error)]
pub enum LinkedInError {
    #[error("LinkedIn did not answer in time")]
    Timeout,
    #[error("could not reach LinkedIn: {0}")]
    Connect(String),
    #[error("LinkedIn is rate limiting us (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("LinkedIn answered {status}: {message}")]
    Status {
        status: u16,
        /// The OAuth `error` code or the API's serviceErrorCode, when the body had one.
        code: Option<String>,
        message: String,
        class: FailureClass,
    },
    #[error("LinkedIn sent a response we cannot read: {0}")]
    Malformed(String),
}

impl LinkedInError {
    pub fn class(&self) -> FailureClass {
        match self {
            LinkedInError::Timeout
            | LinkedInError::Connect(_)
            | LinkedInError::RateLimited { .. } => FailureClass::Transient,
            LinkedInError::Status { class, .. } => *class,
            // A 200 with a body we cannot parse is LinkedIn changing under us or a proxy in
            // the way: retrying later is the sensible default.
            LinkedInError::Malformed(_) => FailureClass::Transient,
        }
    }

    /// No answer arrived at all (refused, reset, timed out before any response): the only
    /// failures after which a single-use authorization code may be sent again.
    pub fn no_answer(&self) -> bool {
        matches!(self, LinkedInError::Timeout | LinkedInError::Connect(_))
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            LinkedInError::Status { status, .. } => Some(*status),
            LinkedInError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            LinkedInError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LinkedInError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    pub(super) fn from_reqwest(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            LinkedInError::Timeout
        } else if err.is_decode() {
            LinkedInError::Malformed(err.to_string())
        } else {
            // reqwest errors carry the URL, never the form body, so they are safe to log.
            LinkedInError::Connect(crate::telemetry::error_chain(&err))
        }
    }
}

/// A LinkedIn failure as the provider port carries it: the same kind, class and text.
impl From<LinkedInError> for ProviderError {
    fn from(error: LinkedInError) -> Self {
        let failure = match error {
            LinkedInError::Timeout => Failure::Timeout,
            LinkedInError::Connect(detail) => Failure::Connect(detail),
            LinkedInError::RateLimited { retry_after } => Failure::RateLimited { retry_after },
            LinkedInError::Status {
                status,
                code,
                message,
                class,
            } => Failure::Status {
                status,
                code,
                message,
                class,
            },
            LinkedInError::Malformed(detail) => Failure::Malformed(detail),
        };
        ProviderError::new(NETWORK, failure)
    }
}

/// Classifies an error answer of the token endpoint (code exchange or refresh).
///
/// Misconfiguration stops every refresh, so it is concluded only from answers that are about
/// our client: its credentials (`invalid_client`, any 401 at the token endpoint), its rights
/// (`unauthorized_client`, `unsupported_grant_type`), a parameter we failed to send, and 404 or
/// 405: the token URL is the same for every account, so "no such endpoint" can only mean a
/// wrong `linkedin.token_url` (or a proxy in front of it), never something about one member.
/// Any other answer is about the account it was sent for.
pub(super) fn classify_token_error(status: u16, error: &str, description: &str) -> FailureClass {
    let described = description.to_ascii_lowercase();
    match (status, error) {
        (429, _) | (500..=599, _) | (408, _) => FailureClass::Transient,
        (401 | 404 | 405, _)
        | (_, "invalid_client" | "unauthorized_client" | "unsupported_grant_type") => {
            FailureClass::Misconfiguration
        }
        (_, "invalid_request") if described.contains("missing") => FailureClass::Misconfiguration,
        (_, "invalid_grant") => FailureClass::Permanent,
        // LinkedIn documents a dead refresh token as invalid_request "The provided
        // authorization grant or refresh token is invalid, expired or revoked", but the same
        // error code also means "A required parameter is missing", which is our bug.
        (_, "invalid_request")
            if !described.contains("missing")
                && (described.contains("grant") || described.contains("refresh token")) =>
        {
            FailureClass::Permanent
        }
        _ => FailureClass::Rejected,
    }
}

/// Classifies an error answer of the introspection endpoint. Its URL and our credentials are
/// the same for every token, so 401, 404, 405 and anything naming the client are ours to fix;
/// LinkedIn documents a 400 for a bad client id as well as for a bad token, told apart by the
/// description. Any other refusal is about the one token asked about.
pub(super) fn classify_introspection_error(
    status: u16,
    error: &str,
    description: &str,
) -> FailureClass {
    let described = description.to_ascii_lowercase();
    match (status, error) {
        (429, _) | (500..=599, _) | (408, _) => FailureClass::Transient,
        (401 | 404 | 405, _) | (_, "invalid_client" | "unauthorized_client") => {
            FailureClass::Misconfiguration
        }
        _ if described.contains("client") || described.contains("missing") => {
            FailureClass::Misconfiguration
        }
        _ => FailureClass::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_linkedins_documented_failures() {
        use FailureClass::*;
        let cases = [
            (
                400,
                "invalid_grant",
                "Token has been expired or revoked.",
                Permanent,
            ),
            (
                400,
                "invalid_request",
                "The provided authorization grant or refresh token is invalid, expired or revoked",
                Permanent,
            ),
            (
                400,
                "invalid_request",
                "A required parameter \"client_id\" is missing",
                Misconfiguration,
            ),
            (
                401,
                "invalid_client",
                "Client authentication failed",
                Misconfiguration,
            ),
            (500, "", "", Transient),
            (503, "", "", Transient),
            (429, "", "", Transient),
            (404, "", "", Misconfiguration),
            (405, "", "", Misconfiguration),
            (400, "unauthorized_client", "", Misconfiguration),
            (
                400,
                "invalid_request",
                "The member's account is restricted",
                Rejected,
            ),
            (400, "", "", Rejected),
            (403, "access_denied", "", Rejected),
            (
                400,
                "invalid_request",
                "A required parameter \"refresh_token\" is missing",
                Misconfiguration,
            ),
        ];
        for (status, error, description, expected) in cases {
            assert_eq!(
                classify_token_error(status, error, description),
                expected,
                "{status} {error} {description}"
            );
        }
    }

    #[test]
    fn introspection_refusals_about_our_client_are_ours() {
        use FailureClass::*;
        let cases = [
            (
                401,
                "invalid_client",
                "Client authentication failed",
                Misconfiguration,
            ),
            (
                400,
                "invalid_request",
                "Invalid client id",
                Misconfiguration,
            ),
            (
                400,
                "invalid_request",
                "A required parameter \"token\" is missing",
                Misconfiguration,
            ),
            (404, "", "", Misconfiguration),
            (400, "invalid_request", "Invalid token", Rejected),
            (503, "", "", Transient),
            (429, "", "", Transient),
        ];
        for (status, error, description, expected) in cases {
            assert_eq!(
                classify_introspection_error(status, error, description),
                expected,
                "{status} {error} {description}"
            );
        }
    }

    #[test]
    fn a_refresh_token_or_a_grant_named_alone_is_still_a_dead_grant() {
        for description in ["Invalid refresh token", "The grant was revoked"] {
            assert_eq!(
                classify_token_error(400, "invalid_request", description),
                FailureClass::Permanent,
                "{description}"
            );
        }
        assert_eq!(classify_token_error(408, "", ""), FailureClass::Transient);
    }

    #[test]
    fn an_error_says_its_status_code_and_pause_only_when_linkedin_sent_them() {
        let refused = LinkedInError::Status {
            status: 400,
            code: Some("invalid_grant".into()),
            message: "revoked".into(),
            class: FailureClass::Permanent,
        };
        let throttled = LinkedInError::RateLimited {
            retry_after: Some(Duration::from_secs(120)),
        };
        let unexplained = LinkedInError::RateLimited { retry_after: None };
        assert_eq!(refused.http_status(), Some(400));
        assert_eq!(refused.code(), Some("invalid_grant"));
        assert_eq!(refused.retry_after(), None);
        assert_eq!(throttled.http_status(), Some(429));
        assert_eq!(throttled.code(), None);
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(120)));
        assert_eq!(unexplained.retry_after(), None);
        assert_eq!(LinkedInError::Timeout.http_status(), None);
        assert_eq!(LinkedInError::Timeout.retry_after(), None);
    }

    #[test]
    fn only_a_missing_answer_lets_a_code_be_sent_again() {
        assert!(LinkedInError::Timeout.no_answer());
        assert!(LinkedInError::Connect("refused".into()).no_answer());
        assert!(!LinkedInError::RateLimited { retry_after: None }.no_answer());
        assert!(!LinkedInError::Malformed("{".into()).no_answer());
    }

    #[test]
    fn through_the_provider_port_an_error_reads_and_counts_the_same() {
        // Log lines, `last_error` and `refresh_log` rows keep their text, status and code.
        let cases = || {
            [
                LinkedInError::Timeout,
                LinkedInError::Connect("refused".into()),
                LinkedInError::RateLimited {
                    retry_after: Some(Duration::from_secs(30)),
                },
                LinkedInError::Status {
                    status: 400,
                    code: Some("invalid_grant".into()),
                    message: "Token has been expired or revoked.".into(),
                    class: FailureClass::Permanent,
                },
                LinkedInError::Malformed("{".into()),
            ]
        };
        for (linkedin, ported) in cases().into_iter().zip(cases().map(ProviderError::from)) {
            assert_eq!(ported.to_string(), linkedin.to_string());
            assert_eq!(ported.class(), linkedin.class());
            assert_eq!(ported.http_status(), linkedin.http_status());
            assert_eq!(ported.code(), linkedin.code());
            assert_eq!(ported.retry_after(), linkedin.retry_after());
            assert_eq!(ported.no_answer(), linkedin.no_answer());
            assert_eq!(
                ported.is_rate_limited(),
                matches!(linkedin, LinkedInError::RateLimited { .. })
            );
        }
    }
}
