//! LinkedIn's opinion of our client credentials, from one call that cannot do harm: a refresh
//! grant with a refresh token that cannot exist. LinkedIn authenticates the client first: a
//! wrong `client_id` or `client_secret` is answered 401 `invalid_client`, right ones get the
//! grant refused (`invalid_grant` or `invalid_request`), or, for an app without programmatic
//! refresh, `unauthorized_client`.

use super::Finding;
use crate::config::Config;
use crate::domain::{AccessToken, RefreshToken};
use crate::provider::{FailureClass, HeldGrant, Providers};

const CHECK: &str = "linkedin";

/// Sent as the refresh token: no token LinkedIn issues looks like this.
const IMPOSSIBLE_REFRESH_TOKEN: &str = "tokenkeeper-doctor-not-a-refresh-token";

pub async fn examine(config: &Config) -> Finding {
    let endpoint = &config.linkedin.token_url;
    let providers = match Providers::from_config(config) {
        Ok(providers) => providers,
        Err(e) => return Finding::fail(CHECK, format!("cannot build the HTTP client: {e}")),
    };
    let now = chrono::Utc::now();
    let refresh_token = RefreshToken::new(IMPOSSIBLE_REFRESH_TOKEN);
    let held = HeldGrant {
        access_token: &AccessToken::new(IMPOSSIBLE_REFRESH_TOKEN),
        token_expires_at: now,
        refresh_token: Some(&refresh_token),
        issued_at: now,
    };
    let answer = providers.linkedin().refresh(&held, now).await;
    let accepted = format!(
        "{endpoint} accepts linkedin.client_id {} and its secret",
        config.linkedin.client_id
    );
    let error = match answer {
        // Only a stand-in that takes any refresh token gets here (the fake, in benchmark mode).
        Ok(_) => return Finding::ok(CHECK, accepted),
        Err(e) => e,
    };
    if error.code() == Some("invalid_client") || error.http_status() == Some(401) {
        return Finding::fail(
            CHECK,
            format!("{endpoint} refuses our client ({error}): check linkedin.client_id and linkedin.client_secret against the app's Auth page (the Primary Client Secret)"),
        );
    }
    if error.code() == Some("unauthorized_client") {
        return Finding::ok(
            CHECK,
            format!("{accepted}; this app has no programmatic refresh (a partner product), so members reconnect through the emailed link when their token nears its end"),
        );
    }
    match error.class() {
        FailureClass::Permanent => Finding::ok(CHECK, accepted),
        _ if matches!(error.http_status(), Some(404 | 405)) => Finding::fail(
            CHECK,
            format!("{endpoint} is not a token endpoint ({error}): check linkedin.token_url"),
        ),
        FailureClass::Transient => Finding::fail(
            CHECK,
            format!("{endpoint}: {error}: check this machine's network, DNS and proxy"),
        ),
        _ => Finding::fail(
            CHECK,
            format!("{endpoint} answered in a way tokenkeeper does not expect ({error}): check linkedin.token_url and linkedin.client_id"),
        ),
    }
}
