use super::InvalidInput;
use std::fmt;

/// What one look at an account came to: a call to LinkedIn's token endpoint, a check of the
/// access token the host app reported, or a decision taken without calling (no refresh
/// token). Each is one `refresh_log` row and labels `tokenkeeper_refresh_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshOutcome {
    /// New tokens.
    Refreshed,
    /// A failure that may pass by itself (network, timeout, 5xx, 429).
    Transient,
    /// Only the member can fix it: the grant is invalid, expired or revoked.
    Permanent,
    /// Our client was refused; relabelled so when refusals turn out to be ours, so that the
    /// slot never counts against the member.
    Misconfiguration,
    /// An undocumented refusal of this one account.
    Rejected,
    /// No live refresh token: nothing was called.
    NoRefreshToken,
    /// The host app reported the access token rejected; LinkedIn accepts it.
    AccessTokenWorks,
    /// The host app reported the access token rejected; LinkedIn refused it too.
    AccessTokenRejected,
}

impl RefreshOutcome {
    pub const ALL: [RefreshOutcome; 8] = [
        RefreshOutcome::Refreshed,
        RefreshOutcome::Transient,
        RefreshOutcome::Permanent,
        RefreshOutcome::Misconfiguration,
        RefreshOutcome::Rejected,
        RefreshOutcome::NoRefreshToken,
        RefreshOutcome::AccessTokenWorks,
        RefreshOutcome::AccessTokenRejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Refreshed => "refreshed",
            RefreshOutcome::Transient => "transient",
            RefreshOutcome::Permanent => "permanent",
            RefreshOutcome::Misconfiguration => "misconfiguration",
            RefreshOutcome::Rejected => "rejected",
            RefreshOutcome::NoRefreshToken => "no_refresh_token",
            RefreshOutcome::AccessTokenWorks => "access_token_works",
            RefreshOutcome::AccessTokenRejected => "access_token_rejected",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == raw)
            .ok_or_else(|| InvalidInput(format!("unknown refresh outcome {raw:?}")))
    }
}

impl fmt::Display for RefreshOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_named_as_the_refresh_log_holds_them() {
        assert_eq!(
            RefreshOutcome::ALL.map(RefreshOutcome::as_str),
            [
                "refreshed",
                "transient",
                "permanent",
                "misconfiguration",
                "rejected",
                "no_refresh_token",
                "access_token_works",
                "access_token_rejected",
            ]
        );
        for outcome in RefreshOutcome::ALL {
            assert_eq!(RefreshOutcome::parse(outcome.as_str()), Ok(outcome));
            // Logs and metric labels print it by the same name.
            assert_eq!(outcome.to_string(), outcome.as_str());
        }
        assert!(RefreshOutcome::parse("Refreshed").is_err());
        assert!(RefreshOutcome::parse("").is_err());
    }
}
