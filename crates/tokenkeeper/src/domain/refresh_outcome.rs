use super::EnumText;
use strum::{Display, IntoStaticStr, VariantArray};

/// What one look at an account came to: a call to LinkedIn's token endpoint, a check of the
/// access token the host app reported, or a decision taken without calling (no refresh
/// token). Each is one `refresh_log` row and labels `tokenkeeper_refresh_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, VariantArray, Display)]
#[strum(serialize_all = "snake_case")]
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

impl EnumText for RefreshOutcome {
    const WHAT: &'static str = "refresh outcome";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_named_as_the_refresh_log_holds_them() {
        assert_eq!(
            RefreshOutcome::ALL
                .iter()
                .copied()
                .map(RefreshOutcome::as_str)
                .collect::<Vec<_>>(),
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
        for &outcome in RefreshOutcome::ALL {
            assert_eq!(RefreshOutcome::parse(outcome.as_str()), Ok(outcome));
            // Logs and metric labels print it by the same name.
            assert_eq!(outcome.to_string(), outcome.as_str());
        }
        assert!(RefreshOutcome::parse("Refreshed").is_err());
        assert!(RefreshOutcome::parse("").is_err());
    }
}
