//! What the simulation saw during the year: connections, reconnects, revocations, emails,
//! reads, sweeps, faults, and a daily picture of the accounts and of the members without a
//! working connection. The figures and the invariants are computed from it.

use super::fleet::{index_of_email, Member};
use super::host::Read;
use super::observe::Observer;
use super::sim::MemberState;
use chrono::{DateTime, Utc};
use fake_linkedin::smtp::Received;
use std::collections::BTreeMap;
use tokenkeeper::domain::AccountStatus;

#[derive(Debug, Clone)]
pub struct EmailSeen {
    pub at: DateTime<Utc>,
    pub member: Option<usize>,
    pub message_id: Option<String>,
    pub subject: String,
    pub link: Option<String>,
}

impl EmailSeen {
    pub fn parse(mail: &Received, at: DateTime<Utc>) -> Self {
        let member = mail.to.first().and_then(|to| index_of_email(to));
        let link = mail.text().and_then(|text| {
            text.split_whitespace()
                .find(|w| w.starts_with("http") && w.contains("/connect/"))
                .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
        });
        Self {
            at,
            member,
            message_id: mail.header("Message-ID"),
            subject: mail.header("Subject").unwrap_or_default(),
            link,
        }
    }

    /// The first email of a reconnect episode (the reminders that follow say so).
    pub fn opens_episode(&self) -> bool {
        let s = &self.subject;
        s.starts_with("Action needed: reconnect") || s.starts_with("Please reconnect")
    }
}

/// The accounts and the members, once a day at noon.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DaySample {
    pub at: DateTime<Utc>,
    /// Accounts by status.
    pub accounts: BTreeMap<String, u64>,
    /// Members who had joined by then.
    pub members: u64,
    /// Of them, those whose connection does not work: revoked at the network and not
    /// reconnected, or an account to reconnect whose access token has ended.
    pub dead: u64,
    /// The same two counts by network (its provider name).
    pub members_by_network: BTreeMap<&'static str, u64>,
    pub dead_by_network: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
pub struct Record {
    pub joins: u64,
    /// Manual reconnects: a member who clicked (or came back through the app) and connected.
    pub reconnects: Vec<(usize, DateTime<Utc>)>,
    pub connect_failures: Vec<(usize, DateTime<Utc>, String)>,
    /// Connects a member put off because the network was down, to try again later.
    pub connects_put_off: u64,
    pub revocations: Vec<(usize, DateTime<Utc>)>,
    pub emails: Vec<EmailSeen>,
    /// Emails to nobody the simulation knows.
    pub strange_emails: u64,
    pub reads: BTreeMap<String, u64>,
    pub sweeps: BTreeMap<String, u64>,
    pub kills: u32,
    /// When instances were killed (the slot whose sweep was under way).
    pub kill_times: Vec<DateTime<Utc>>,
    pub faults: Vec<(DateTime<Utc>, String)>,
    pub days: Vec<DaySample>,
    pub peak_memory_kib: u64,
    /// Real time spent, by part of the simulation.
    pub time_spent: BTreeMap<&'static str, std::time::Duration>,
    /// The simulated hours that took longest in real time, longest first.
    pub slowest_hours: Vec<(DateTime<Utc>, std::time::Duration)>,
}

impl Record {
    pub fn count_read(&mut self, read: &Read) {
        let key = match read {
            Read::Works => "works".to_owned(),
            Read::Refused(outcome) => format!("refused, reported: {outcome}"),
            Read::NoToken(_) => "no usable token".to_owned(),
            Read::Unavailable(_) => "service unavailable".to_owned(),
        };
        *self.reads.entry(key).or_default() += 1;
    }

    pub fn count_sweep(&mut self, outcome: &str) {
        *self.sweeps.entry(outcome.to_owned()).or_default() += 1;
    }

    pub fn spent(&mut self, part: &'static str, took: std::time::Duration) {
        *self.time_spent.entry(part).or_default() += took;
    }

    pub fn note_step(&mut self, at: DateTime<Utc>, took: std::time::Duration) {
        self.slowest_hours.push((at, took));
        self.slowest_hours.sort_by_key(|h| std::cmp::Reverse(h.1));
        self.slowest_hours.truncate(5);
    }

    pub fn note_memory(&mut self, kib: Option<u64>) {
        self.peak_memory_kib = self.peak_memory_kib.max(kib.unwrap_or(0));
    }

    pub async fn sample_day(
        &mut self,
        now: DateTime<Utc>,
        observer: &Observer,
        members: &[Member],
        states: &[MemberState],
    ) -> anyhow::Result<()> {
        let by_user = super::sim::by_user_id(members);
        let mut accounts = BTreeMap::new();
        let mut dead_accounts = vec![false; members.len()];
        for account in observer.accounts().await? {
            *accounts.entry(account.status.to_string()).or_default() += 1;
            let Some(&index) = by_user.get(account.user_id.as_str()) else {
                continue;
            };
            let to_reconnect = account.status != AccountStatus::Active;
            dead_accounts[index] = to_reconnect && account.token_expires_at <= now;
        }
        let mut members_by_network = BTreeMap::new();
        let mut dead_by_network = BTreeMap::new();
        for (index, state) in states.iter().enumerate() {
            if state.connected_at.is_none() {
                continue;
            }
            let network = members[index].network.provider();
            *members_by_network.entry(network).or_default() += 1;
            if state.revoked_at.is_some() || dead_accounts[index] {
                *dead_by_network.entry(network).or_default() += 1;
            }
        }
        self.days.push(DaySample {
            at: now,
            accounts,
            members: members_by_network.values().sum(),
            dead: dead_by_network.values().sum(),
            members_by_network,
            dead_by_network,
        });
        Ok(())
    }
}
