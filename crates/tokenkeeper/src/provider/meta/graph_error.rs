//! Graph's error answers, read and classified once for all three networks. Graph speaks in
//! `{"error": {"message", "type": "OAuthException", "code", "error_subcode",
//! "is_transient", "fbtrace_id"}}`; Instagram's token endpoint still answers in the older
//! `{"error_type", "code", "error_message"}`. Codes: Meta's "Graph API error handling".

use crate::provider::FailureClass;
use serde::Deserialize;

/// One Graph error, whichever shape it came in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
    pub is_transient: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Body {
    Graph { error: Inner },
    Legacy(Legacy),
}

#[derive(Deserialize)]
struct Inner {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

#[derive(Deserialize)]
struct Legacy {
    #[serde(default)]
    code: Option<i64>,
    error_message: String,
}

impl GraphError {
    /// The error in a body, if it is one of Graph's.
    pub fn parse(body: &str) -> Option<Self> {
        match serde_json::from_str::<Body>(body).ok()? {
            Body::Graph { error } => Some(Self {
                code: error.code,
                subcode: error.error_subcode,
                message: error.message,
                is_transient: error.is_transient,
            }),
            // The legacy `code` repeats the HTTP status; it is not a Graph code.
            Body::Legacy(legacy) => Some(Self {
                code: None,
                subcode: None,
                message: legacy.error_message,
                is_transient: legacy.code.is_some_and(|c| c >= 500),
            }),
        }
    }

    /// `190/463`, `4`: how logs and `refresh_log` name it.
    pub fn code_text(&self) -> Option<String> {
        match (self.code, self.subcode) {
            (Some(code), Some(sub)) => Some(format!("{code}/{sub}")),
            (Some(code), None) => Some(code.to_string()),
            _ => None,
        }
    }
}

/// What an error answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The app is throttled (HTTP 429, or Graph's codes 4, 17, 32, 613 and the 800xx
    /// business-use-case limits): everyone slows down.
    RateLimited,
    Class(FailureClass),
}

/// Classifies an error answer of any Graph call.
///
/// - Code 190 (any subcode: 463 expired, 460 password changed, 458 app removed, 459
///   checkpoint, 467 invalid) and 102 (session gone): the token is dead; only the member can
///   bring the account back.
/// - Throttles, code 1 and 2, `is_transient` and 5xx: may pass by themselves.
/// - Our app's own identity or setup (101 invalid app id or secret, 191 redirect URI not
///   allowed, 104 no token sent, a `grant_type` or parameter we got wrong), and 401, 404 or
///   405 without a Graph body (a wrong endpoint): the operator's to fix.
/// - A spent or unknown authorization code: the member connects again.
/// - Anything else (a permission removed, code 10 or 200, a restricted account) is about
///   this one account and undocumented as final: Rejected.
pub(super) fn classify(status: u16, error: Option<&GraphError>) -> Verdict {
    use FailureClass::*;
    if status == 429 {
        return Verdict::RateLimited;
    }
    let Some(error) = error else {
        return Verdict::Class(match status {
            500..=599 | 408 => Transient,
            401 | 404 | 405 => Misconfiguration,
            _ => Rejected,
        });
    };
    let message = error.message.to_ascii_lowercase();
    let class = match error.code {
        Some(190 | 102) => Permanent,
        Some(4 | 17 | 32 | 613 | 80001..=80014) => return Verdict::RateLimited,
        Some(1 | 2) => Transient,
        _ if error.is_transient || (500..=599).contains(&status) => Transient,
        Some(101 | 191 | 104) => Misconfiguration,
        _ if [
            "redirect_uri",
            "grant_type",
            "client_secret",
            "application",
            "platform app",
        ]
        .iter()
        .any(|ours| message.contains(ours)) =>
        {
            Misconfiguration
        }
        _ if message.contains("missing") || message.contains("required parameter") => {
            Misconfiguration
        }
        // "Invalid authorization code", "Matching code was not found or was already used".
        _ if message.contains("code") => Permanent,
        None if matches!(status, 401 | 404 | 405) => Misconfiguration,
        _ => Rejected,
    };
    Verdict::Class(class)
}

/// Whether Instagram or Threads refused a renewal because the token is under a day old. Meta
/// does not document the body; the token is alive (no 190) and the message speaks of its age.
pub(super) fn says_too_young(error: &GraphError) -> bool {
    let message = error.message.to_ascii_lowercase();
    error.code != Some(190) && message.contains("24 hours")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(code: i64, subcode: Option<i64>, message: &str) -> GraphError {
        GraphError {
            code: Some(code),
            subcode,
            message: message.into(),
            is_transient: false,
        }
    }

    #[test]
    fn reads_both_shapes() {
        let body = r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A1"}}"#;
        let error = GraphError::parse(body).unwrap();
        assert_eq!(error.code_text().as_deref(), Some("190/463"));
        let legacy = r#"{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}"#;
        let error = GraphError::parse(legacy).unwrap();
        assert_eq!(error.code, None);
        assert_eq!(
            classify(400, Some(&error)),
            Verdict::Class(FailureClass::Permanent)
        );
        assert_eq!(GraphError::parse("<html>bad gateway</html>"), None);
    }

    #[test]
    fn classifies_graphs_documented_failures() {
        use FailureClass::*;
        let cases = [
            (
                graph(190, Some(463), "Session has expired"),
                400,
                Class(Permanent),
            ),
            (
                graph(190, Some(460), "password changed"),
                400,
                Class(Permanent),
            ),
            (
                graph(190, Some(458), "has not authorized application"),
                400,
                Class(Permanent),
            ),
            (
                graph(190, None, "Cannot parse access token"),
                401,
                Class(Permanent),
            ),
            (
                graph(102, None, "Session key invalid"),
                400,
                Class(Permanent),
            ),
            (
                graph(4, None, "Application request limit reached"),
                400,
                RateLimited,
            ),
            (
                graph(17, None, "User request limit reached"),
                400,
                RateLimited,
            ),
            (
                graph(32, None, "Page request limit reached"),
                403,
                RateLimited,
            ),
            (
                graph(613, None, "Calls within one hour exceeded"),
                400,
                RateLimited,
            ),
            (graph(80002, None, "too many calls"), 400, RateLimited),
            (
                graph(1, None, "An unknown error occurred"),
                500,
                Class(Transient),
            ),
            (
                graph(2, None, "Service temporarily unavailable"),
                503,
                Class(Transient),
            ),
            (graph(100, None, "whatever"), 503, Class(Transient)),
            (
                graph(
                    101,
                    None,
                    "Error validating application. Invalid application ID.",
                ),
                400,
                Class(Misconfiguration),
            ),
            (
                graph(101, None, "Error validating client secret."),
                400,
                Class(Misconfiguration),
            ),
            (
                graph(191, None, "Can't load URL"),
                400,
                Class(Misconfiguration),
            ),
            (
                graph(100, None, "Unsupported grant_type"),
                400,
                Class(Misconfiguration),
            ),
            (
                graph(100, None, "Invalid authorization code"),
                400,
                Class(Permanent),
            ),
            (
                graph(10, None, "Permission denied: threads_basic is required."),
                400,
                Class(Rejected),
            ),
            (graph(200, None, "Permissions error"), 403, Class(Rejected)),
            (
                graph(368, None, "temporarily blocked for policies violations"),
                400,
                Class(Rejected),
            ),
        ];
        use Verdict::*;
        for (error, status, expected) in cases {
            assert_eq!(classify(status, Some(&error)), expected, "{error:?}");
        }
        let transient = GraphError {
            is_transient: true,
            ..graph(9999, None, "")
        };
        assert_eq!(classify(400, Some(&transient)), Class(Transient));
    }

    #[test]
    fn without_a_graph_body_the_status_decides() {
        use FailureClass::*;
        assert_eq!(classify(429, None), Verdict::RateLimited);
        assert_eq!(classify(503, None), Verdict::Class(Transient));
        assert_eq!(classify(404, None), Verdict::Class(Misconfiguration));
        assert_eq!(classify(400, None), Verdict::Class(Rejected));
    }

    #[test]
    fn a_young_token_is_told_apart_from_a_dead_one() {
        assert!(says_too_young(&graph(
            100,
            None,
            "The access token must be at least 24 hours old to be refreshed."
        )));
        assert!(!says_too_young(&graph(
            190,
            Some(463),
            "Session has expired 24 hours ago"
        )));
        assert!(!says_too_young(&graph(100, None, "Unsupported grant_type")));
    }
}
