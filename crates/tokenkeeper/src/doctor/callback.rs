//! The OAuth callback URL, from this machine: LinkedIn sends members' browsers there, so it
//! must reach this service through whatever proxy stands in front. A request without `state`
//! gets our own "cannot be completed" page (400); anything else is somebody else answering.

use super::{Finding, PATIENCE};
use crate::config::Config;
use crate::http::{CALLBACK_PATH, UNCOMPLETABLE_SIGN_IN_TITLE};

const CHECK: &str = "callback";

pub async fn examine(config: &Config) -> Finding {
    let url = config
        .public_base_url()
        .join(CALLBACK_PATH)
        .expect("a path joins any base");
    let client = match reqwest::Client::builder().timeout(PATIENCE).build() {
        Ok(client) => client,
        Err(e) => return Finding::fail(CHECK, format!("cannot build the HTTP client: {e}")),
    };
    let answer = match client.get(url.clone()).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Finding::fail(
                CHECK,
                format!(
                    "{url} cannot be reached from here ({}): is `serve` running, is http.public_url right, and does the proxy route {CALLBACK_PATH} to http.bind?",
                    crate::telemetry::error_chain(&e)
                ),
            )
        }
    };
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::BAD_REQUEST && body.contains(UNCOMPLETABLE_SIGN_IN_TITLE) {
        Finding::ok(CHECK, format!("{url} reaches tokenkeeper"))
    } else {
        Finding::fail(
            CHECK,
            format!("{url} answered {status}, not as tokenkeeper does: something else serves this address; check http.public_url and the proxy's routes"),
        )
    }
}
