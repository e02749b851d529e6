//! How a sweep ended, from what its providers' lanes and its workers saw: failed if a provider
//! refused our client (naming each), or on a store error or a panic; interrupted at shutdown;
//! degraded if a provider was down or throttled us too long (naming each); else completed.

use super::shared::Shared;
use crate::domain::{ProviderKind, ProviderName, SweepOutcome};
use std::sync::atomic::Ordering;

pub fn judge(
    shared: &Shared,
    store_error: Option<String>,
    shutting_down: bool,
) -> (SweepOutcome, Option<String>) {
    let misconfigured = shared.lanes.misconfigured();
    if !misconfigured.is_empty() {
        let mut messages = Vec::new();
        for (provider, message) in misconfigured {
            let (network, section) = naming(shared, &provider);
            tracing::error!(
                provider = %provider,
                error = %message,
                "{network} rejected our request as misconfigured; check {section}.client_id, {section}.client_secret and the token URL. No member was notified."
            );
            messages.push(format!("{network} misconfiguration: {message}"));
        }
        metrics::counter!("tokenkeeper_refresh_misconfiguration_total").increment(1);
        return (SweepOutcome::Failed, Some(messages.join("; ")));
    }
    if let Some(message) = store_error {
        return (SweepOutcome::Failed, Some(message));
    }
    let panics = shared.panics.load(Ordering::Relaxed);
    if panics > 0 {
        return (
            SweepOutcome::Failed,
            Some(format!(
                "{panics} refresh(es) panicked: a bug; their accounts were released untouched"
            )),
        );
    }
    if shutting_down {
        tracing::warn!("shutting down: sweep interrupted, claims released");
        return (
            SweepOutcome::Interrupted,
            Some("interrupted by shutdown".into()),
        );
    }
    let degraded = shared.lanes.degraded();
    if !degraded.is_empty() {
        let mut messages = Vec::new();
        for (provider, message) in degraded {
            let (network, _) = naming(shared, &provider);
            tracing::warn!(
                provider = %provider,
                reason = %message,
                "sweep stopped early for {network}; its accounts left wait for the next slot, the other networks' were refreshed"
            );
            messages.push(message);
        }
        return (SweepOutcome::Degraded, Some(messages.join("; ")));
    }
    (SweepOutcome::Completed, None)
}

/// How people know `provider`: its network's name, and its configuration section.
fn naming(shared: &Shared, provider: &ProviderName) -> (String, String) {
    match shared.providers.find(provider) {
        Some(p) if p.kind() == ProviderKind::LinkedIn && provider.as_str() == "linkedin" => {
            (p.display_name().to_owned(), "linkedin".to_owned())
        }
        Some(p) => (p.display_name().to_owned(), format!("providers.{provider}")),
        None => (provider.to_string(), format!("providers.{provider}")),
    }
}
