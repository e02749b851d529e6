//! The figures a team asks for, for the year and each 30-day window, with tokenkeeper (as
//! measured) and without (the status quo model, same members): connections kept alive without
//! the member, manual reconnects, member-days without a working connection, emails and
//! provider calls per member-year, and the success report's own figures.

use super::fleet::Member;
use super::record::Record;
use super::status_quo::Life;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The fakes' counters at one moment: refresh grants answered, and calls tokenkeeper makes
/// (token, refresh, exchange, introspection, revocation; not the consent page, and not the
/// host app's own use of the tokens).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counters {
    pub refresh_grants: u64,
    pub provider_calls: u64,
}

impl Counters {
    pub fn of_stats(stats: &serde_json::Value) -> Self {
        let calls = &stats["calls"];
        let provider_calls = ["token", "refresh", "exchange", "introspect", "revoke"]
            .iter()
            .filter_map(|k| calls[k].as_u64())
            .sum();
        Self {
            refresh_grants: stats["refresh_grants"].as_u64().unwrap_or(0),
            provider_calls,
        }
    }

    pub fn add(self, other: Self) -> Self {
        Self {
            refresh_grants: self.refresh_grants + other.refresh_grants,
            provider_calls: self.provider_calls + other.provider_calls,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Connected member-days / 365.
    pub member_years: f64,
    /// Refreshes the networks granted: each one a connection kept alive without the member.
    pub kept_alive: u64,
    pub reconnects_with: u64,
    pub reconnects_without: u64,
    pub dead_member_days_with: u64,
    pub dead_member_days_without: u64,
    pub emails: u64,
    pub emails_per_member_year: f64,
    pub provider_calls: u64,
    pub provider_calls_per_member_year: f64,
    /// `tokenkeeper report --json` for the window.
    pub report: Option<serde_json::Value>,
}

/// Windows of 30 days from `start`, the last one shorter.
pub fn windows(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let until = (from + Duration::days(30)).min(end);
        out.push((from, until));
        from = until;
    }
    out
}

pub struct Inputs<'a> {
    pub members: &'a [Member],
    pub record: &'a Record,
    pub without: &'a [Life],
    /// The fakes' counters (summed) at each window's end, and at the start.
    pub counters: &'a [(DateTime<Utc>, Counters)],
}

pub fn window(inputs: &Inputs, from: DateTime<Utc>, until: DateTime<Utc>) -> Window {
    let inside = |at: DateTime<Utc>| from <= at && at < until;
    let days: Vec<_> = inputs.record.days.iter().filter(|d| inside(d.at)).collect();
    let member_days: u64 = days.iter().map(|d| d.members).sum();
    let member_years = member_days as f64 / 365.0;
    let dead_member_days_without = days
        .iter()
        .map(|d| {
            inputs
                .members
                .iter()
                .zip(inputs.without)
                .filter(|(m, life)| m.joins_at <= d.at && life.dead_at(d.at))
                .count() as u64
        })
        .sum();
    let at_or_before = |t: DateTime<Utc>| {
        inputs
            .counters
            .iter()
            .rfind(|(at, _)| *at <= t)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    };
    let (a, b) = (at_or_before(from), at_or_before(until));
    let emails = inputs.record.emails.iter().filter(|e| inside(e.at)).count() as u64;
    let provider_calls = b.provider_calls.saturating_sub(a.provider_calls);
    let per_year = |n: u64| {
        if member_years > 0.0 {
            n as f64 / member_years
        } else {
            0.0
        }
    };
    Window {
        from,
        until,
        member_years,
        kept_alive: b.refresh_grants.saturating_sub(a.refresh_grants),
        reconnects_with: inputs
            .record
            .reconnects
            .iter()
            .filter(|(_, at)| inside(*at))
            .count() as u64,
        reconnects_without: inputs
            .without
            .iter()
            .flat_map(|l| &l.reconnects)
            .filter(|at| inside(**at))
            .count() as u64,
        dead_member_days_with: days.iter().map(|d| d.dead).sum(),
        dead_member_days_without,
        emails,
        emails_per_member_year: per_year(emails),
        provider_calls,
        provider_calls_per_member_year: per_year(provider_calls),
        report: None,
    }
}

/// One network's year, with tokenkeeper and without.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkYear {
    pub members: u64,
    pub reconnects_with: u64,
    pub reconnects_without: u64,
    pub dead_member_days_with: u64,
    pub dead_member_days_without: u64,
}

/// The year by network: which members the with/without difference comes from.
pub fn by_network(inputs: &Inputs) -> BTreeMap<&'static str, NetworkYear> {
    let mut out: BTreeMap<&'static str, NetworkYear> = BTreeMap::new();
    for (member, life) in inputs.members.iter().zip(inputs.without) {
        let year = out.entry(member.network.provider()).or_default();
        year.members += 1;
        year.reconnects_without += life.reconnects.len() as u64;
        year.dead_member_days_without += inputs
            .record
            .days
            .iter()
            .filter(|d| member.joins_at <= d.at && life.dead_at(d.at))
            .count() as u64;
    }
    for (index, _) in &inputs.record.reconnects {
        let network = inputs.members[*index].network.provider();
        out.entry(network).or_default().reconnects_with += 1;
    }
    for day in &inputs.record.days {
        for (network, dead) in &day.dead_by_network {
            out.entry(network).or_default().dead_member_days_with += dead;
        }
    }
    out
}

pub fn network_table(years: &BTreeMap<&'static str, NetworkYear>) -> String {
    let mut out = String::from(
        "network          members  reconnects with/without  dead member-days with/without\n",
    );
    for (network, y) in years {
        out.push_str(&format!(
            "{network:<16} {:>7} {:>12} / {:<10} {:>14} / {:<14}\n",
            y.members,
            y.reconnects_with,
            y.reconnects_without,
            y.dead_member_days_with,
            y.dead_member_days_without
        ));
    }
    out
}

pub fn table(year: &Window, windows: &[Window]) -> String {
    let mut out = String::new();
    out.push_str(
        "window            member-yrs  kept alive  reconnects with/without  dead member-days with/without  emails/member-yr  calls/member-yr\n",
    );
    for w in windows.iter().chain(std::iter::once(year)) {
        let label = if std::ptr::eq(w, year) {
            "whole year".to_owned()
        } else {
            format!("{}..{}", w.from.format("%m-%d"), w.until.format("%m-%d"))
        };
        out.push_str(&format!(
            "{label:<17} {:>10.1} {:>11} {:>12} / {:<10} {:>14} / {:<14} {:>16.2} {:>16.1}\n",
            w.member_years,
            w.kept_alive,
            w.reconnects_with,
            w.reconnects_without,
            w.dead_member_days_with,
            w.dead_member_days_without,
            w.emails_per_member_year,
            w.provider_calls_per_member_year,
        ));
    }
    out
}
