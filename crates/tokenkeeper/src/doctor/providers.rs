//! Each `[providers.NAME]`, asked what it can tell without a member: an OpenID issuer's
//! discovery document must be reachable, and every network's token endpoint is sent one refresh
//! that cannot succeed (a refresh token, or for Meta's networks an access token, that no
//! network issued). A network that checks our client first refuses wrong credentials
//! (`invalid_client`, 401, Graph's app errors); right ones get the token refused, which is
//! the answer that proves the endpoint and the credentials. Instagram and Threads renew with
//! the token alone: for them only the endpoint is proved.

use super::Finding;
use crate::config::Config;
use crate::domain::{AccessToken, ProviderKind, RefreshToken};
use crate::provider::{FailureClass, HeldGrant, Provider, Providers, Renewal};
use chrono::Duration;

/// Sent as the token: no network issues one that looks like this.
const IMPOSSIBLE_TOKEN: &str = "tokenkeeper-doctor-not-a-token";

pub async fn examine(config: &Config) -> Vec<Finding> {
    if config.providers.is_empty() {
        return Vec::new();
    }
    let providers = match Providers::from_config(config) {
        Ok(providers) => providers,
        Err(e) => {
            return vec![Finding::fail(
                "providers",
                format!("cannot build the providers: {e}"),
            )]
        }
    };
    let mut findings = Vec::new();
    for name in config.providers.keys() {
        let check = format!("provider {name}");
        let Some(provider) = providers.find(name) else {
            findings.push(Finding::fail(check, "not built"));
            continue;
        };
        findings.push(examine_one(check, provider.as_ref()).await);
    }
    findings
}

async fn examine_one(check: String, provider: &dyn Provider) -> Finding {
    let network = provider.display_name().to_owned();
    if let Err(error) = provider.prepare().await {
        return Finding::fail(
            check,
            format!("{network}: {error}: check the issuer and this machine's network"),
        );
    }
    let now = chrono::Utc::now();
    let token = AccessToken::new(IMPOSSIBLE_TOKEN);
    let refresh_token = RefreshToken::new(IMPOSSIBLE_TOKEN);
    let held = HeldGrant {
        access_token: &token,
        token_expires_at: now + Duration::days(1),
        refresh_token: Some(&refresh_token),
        // Old enough for Instagram's and Threads' window, so the network is asked.
        issued_at: now - Duration::days(2),
    };
    let error = match provider.refresh(&held, now).await {
        // Only a stand-in that takes any token gets here (a fake in benchmark mode).
        Ok(Renewal::Renewed(_)) => return Finding::ok(check, format!("{network} answers")),
        Ok(Renewal::TooEarly { .. }) => {
            return Finding::ok(check, format!("{network} answers (too early to renew)"))
        }
        Err(error) => error,
    };
    let credentials_checked = !matches!(
        provider.kind(),
        ProviderKind::Instagram | ProviderKind::Threads
    );
    match error.class() {
        FailureClass::Permanent if credentials_checked => Finding::ok(
            check,
            format!("{network}'s token endpoint accepts our client id and secret"),
        ),
        FailureClass::Permanent => Finding::ok(
            check,
            format!("{network} answers; it renews with the member's token alone, so the app secret is first used when a member connects"),
        ),
        FailureClass::Misconfiguration => Finding::fail(
            check,
            format!("{network} refuses our client ({error}): check client_id and client_secret"),
        ),
        FailureClass::Transient => Finding::fail(
            check,
            format!("{network}: {error}: check this machine's network, DNS and proxy, and the endpoints"),
        ),
        FailureClass::Rejected => Finding::warn(
            check,
            format!("{network} answered in a way tokenkeeper does not expect ({error}): check the endpoints and credentials"),
        ),
    }
}
