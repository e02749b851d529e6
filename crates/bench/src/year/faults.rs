//! The faults of the year, on fixed days so that runs compare: a few days of provider outage
//! (503, then 429 with `Retry-After`), an SMTP outage, and an instance killed in the middle of
//! a sweep now and then. Days past the year's end are left out.

use super::fleet::Network;
use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone)]
pub enum Fault {
    /// Every token call of the network answers `fault` until `ProviderUp`.
    ProviderDown {
        network: Network,
        fault: serde_json::Value,
    },
    ProviderUp {
        network: Network,
    },
    /// The SMTP server greets every connection with 421 until `SmtpUp`.
    SmtpDown,
    SmtpUp,
}

#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    events: Vec<(DateTime<Utc>, Fault)>,
    /// Sweep slots during which an instance is killed.
    kills: Vec<DateTime<Utc>>,
}

impl FaultPlan {
    pub fn none() -> Self {
        Self::default()
    }

    /// The year's faults, placed at fractions of its length so a short year has them too.
    pub fn standard(start: DateTime<Utc>, days: i64) -> Self {
        let day = |fraction: f64| start + Duration::days((days as f64 * fraction) as i64);
        let mut plan = Self::default();
        // LinkedIn down for three days: every token call 503.
        let from = day(0.27) + Duration::hours(9);
        plan.window(
            from,
            from + Duration::days(3),
            Fault::ProviderDown {
                network: Network::LinkedinPartner,
                fault: serde_json::json!({"status": 503}),
            },
            Fault::ProviderUp {
                network: Network::LinkedinPartner,
            },
        );
        // X throttles for two days, asking for an hour's pause each time.
        let from = day(0.55) + Duration::hours(3);
        plan.window(
            from,
            from + Duration::days(2),
            Fault::ProviderDown {
                network: Network::X,
                fault: serde_json::json!({"too_many_requests": {"retry_after": 3600}}),
            },
            Fault::ProviderUp {
                network: Network::X,
            },
        );
        // The mail server is down for a day and a half.
        let from = day(0.41) + Duration::hours(5);
        plan.window(
            from,
            from + Duration::hours(36),
            Fault::SmtpDown,
            Fault::SmtpUp,
        );
        // Four kills in the middle of a sweep.
        for fraction in [0.15, 0.35, 0.65, 0.85] {
            plan.kills.push(day(fraction) + Duration::hours(12));
        }
        plan
    }

    fn window(&mut self, from: DateTime<Utc>, until: DateTime<Utc>, down: Fault, up: Fault) {
        self.events.push((from, down));
        self.events.push((until, up));
    }

    /// The faults that begin or end in the step that ends at `now`.
    pub fn starting_at(&self, now: DateTime<Utc>, step: Duration) -> Vec<Fault> {
        self.events
            .iter()
            .filter(|(at, _)| *at > now - step && *at <= now)
            .map(|(_, f)| f.clone())
            .collect()
    }

    pub fn kill_at(&self, slot: DateTime<Utc>) -> bool {
        self.kills.contains(&slot)
    }
}
