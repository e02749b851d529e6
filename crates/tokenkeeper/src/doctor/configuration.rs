//! What the configuration says that is legal but probably a mistake in production. The hard
//! rules (required keys, ranges) were enforced when it loaded.

use super::Finding;
use crate::config::Config;

const CHECK: &str = "configuration";

pub fn examine(config: &Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    match &config.http.public_url {
        None => findings.push(Finding::warn(
            CHECK,
            format!(
                "http.public_url is not set: LinkedIn will send members back to {}, which only this machine reaches; set it to the address browsers use",
                config.public_base_url()
            ),
        )),
        Some(url) if url.scheme() != "https" && !on_this_machine(url) => findings.push(Finding::warn(
            CHECK,
            format!("http.public_url {url} is not https: LinkedIn requires https redirect URLs for any host but localhost"),
        )),
        Some(_) => {}
    }
    if findings.is_empty() {
        findings.push(Finding::ok(CHECK, "loaded and checked"));
    }
    findings
}

fn on_this_machine(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}
