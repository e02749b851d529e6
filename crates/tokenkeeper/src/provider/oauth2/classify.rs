//! RFC 6749's error answers (§5.2), classified once for every network that speaks it. A
//! network whose answers differ (X's `invalid_request` for a dead refresh token) overrides
//! this in its `Dialect`, and falls back to it for everything else.

use crate::provider::FailureClass;

/// Classifies an error answer of the token endpoint (code exchange or refresh). A 429 never
/// gets here: it is rate limiting, with its pause, for every endpoint.
///
/// Misconfiguration stops every refresh, so it is concluded only from answers about our
/// client: its credentials (`invalid_client`, any 401), its rights (`unauthorized_client`,
/// `unsupported_grant_type`), a parameter we failed to send, and 404 or 405, which can only
/// mean a wrong token URL. `invalid_grant` is the member's grant gone: Permanent. Any other
/// refusal is about the one account it was sent for.
pub fn token_error(status: u16, error: &str, description: &str) -> FailureClass {
    match (status, error) {
        (500..=599 | 408, _) | (_, "temporarily_unavailable" | "server_error") => {
            FailureClass::Transient
        }
        (401 | 404 | 405, _)
        | (_, "invalid_client" | "unauthorized_client" | "unsupported_grant_type") => {
            FailureClass::Misconfiguration
        }
        (_, "invalid_request") if names_a_missing_parameter(description) => {
            FailureClass::Misconfiguration
        }
        (_, "invalid_grant") => FailureClass::Permanent,
        _ => FailureClass::Rejected,
    }
}

/// Classifies an error answer of an API call made with the member's access token (userinfo,
/// "me"). 401 is the token refused: only the member can give another. 403 and the rest are
/// about what we asked (a scope we did not request, a wrong URL).
pub fn api_error(status: u16) -> FailureClass {
    match status {
        401 => FailureClass::Permanent,
        500..=599 | 408 => FailureClass::Transient,
        _ => FailureClass::Misconfiguration,
    }
}

/// `invalid_request` means both "a parameter is missing" (our bug) and, at some networks, "this
/// grant is dead"; only the description tells them apart.
pub fn names_a_missing_parameter(description: &str) -> bool {
    description.to_ascii_lowercase().contains("missing")
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureClass::*;

    #[test]
    fn rfc_6749_errors_are_classified_by_whose_they_are() {
        for (status, error, description, class) in [
            (
                400,
                "invalid_grant",
                "Token has been expired or revoked.",
                Permanent,
            ),
            (401, "invalid_client", "Unauthorized", Misconfiguration),
            (400, "invalid_client", "", Misconfiguration),
            (400, "unauthorized_client", "", Misconfiguration),
            (400, "unsupported_grant_type", "", Misconfiguration),
            (
                400,
                "invalid_request",
                "client_key is missing.",
                Misconfiguration,
            ),
            (
                400,
                "invalid_request",
                "Value passed for the token was invalid.",
                Rejected,
            ),
            (400, "invalid_scope", "", Rejected),
            (400, "", "", Rejected),
            (503, "", "", Transient),
            (500, "invalid_grant", "", Transient),
            (408, "", "", Transient),
            (400, "temporarily_unavailable", "", Transient),
            (404, "", "", Misconfiguration),
            (401, "", "", Misconfiguration),
        ] {
            assert_eq!(
                token_error(status, error, description),
                class,
                "{status} {error} {description:?}"
            );
        }
    }

    #[test]
    fn an_api_call_refused_with_401_is_the_members_token() {
        assert_eq!(api_error(401), Permanent);
        assert_eq!(api_error(503), Transient);
        assert_eq!(api_error(403), Misconfiguration);
    }
}
