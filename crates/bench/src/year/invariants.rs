//! Nothing lost, checked at the end of the year. Each invariant has a name the run prints
//! and exits non-zero with when it breaks.

use super::fleet::{Member, Network};
use super::host::{Host, Read};
use super::observe::Observer;
use super::record::Record;
use super::sim::MemberState;
use super::world::World;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use tokenkeeper::domain::AccountStatus;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub held: bool,
    /// What was counted, and the first offenders when it broke.
    pub detail: String,
}

fn check(name: &'static str, offenders: Vec<String>, counted: String) -> Check {
    let held = offenders.is_empty();
    let detail = if held {
        counted
    } else {
        format!(
            "{counted}; {} offender(s), first: {}",
            offenders.len(),
            offenders
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    Check { name, held, detail }
}

/// The host app reads and uses every active account's token once, reporting those the
/// network refuses, as its contract says. Afterwards an `active` account whose token the
/// network refuses is lost, unless its member revoked the app (tokenkeeper cannot know before
/// it is told, and the report it was just given is what tells it).
pub async fn active_tokens_work(
    world: &World,
    observer: &Observer,
    host: &Host,
    members: &[Member],
    states: &[MemberState],
) -> anyhow::Result<Check> {
    let service = world
        .instances
        .iter()
        .find(|i| i.running())
        .map(|i| i.url.clone())
        .ok_or_else(|| anyhow::anyhow!("no instance running for the final check"))?;
    let by_user = super::sim::by_user_id(members);
    let mut offenders = Vec::new();
    let mut active = 0;
    for account in observer.accounts().await? {
        if account.status != AccountStatus::Active {
            continue;
        }
        active += 1;
        let Some(&index) = by_user.get(account.user_id.as_str()) else {
            offenders.push(format!("{} belongs to no member", account.user_id.as_str()));
            continue;
        };
        let member = &members[index];
        let use_url = world.fake(member.network).use_url(member.network);
        let read = host
            .read_and_use(
                &service,
                &member.user_id(),
                member.network.provider(),
                &use_url,
            )
            .await?;
        let revoked = states[index].revoked_at.is_some();
        match read {
            Read::Works => {}
            Read::Refused(outcome) if revoked && outcome == "needs_reconnect" => {}
            other => offenders.push(format!(
                "{} on {}: {other:?}{}",
                member.user_id(),
                member.network.provider(),
                if revoked { " (revoked)" } else { "" }
            )),
        }
    }
    Ok(check(
        "every active account holds a token the network accepts",
        offenders,
        format!("{active} active accounts read and used"),
    ))
}

/// The single-use network's fake counts a refresh token presented after it was spent.
pub fn no_refresh_token_used_twice(x_stats: &serde_json::Value) -> Check {
    let reuses = x_stats["refresh_token_reuses"].as_u64();
    let offenders = match reuses {
        Some(0) => vec![],
        Some(n) => vec![format!("{n} spent refresh token(s) presented again to X")],
        None => vec![format!("the fake X gave no reuse count: {x_stats}")],
    };
    check(
        "no refresh token was used twice",
        offenders,
        format!("X refresh grants: {}", x_stats["refresh_grants"]),
    )
}

/// Each event's email carries one Message-ID, and goes out once. The one exception the
/// outbox cannot close: an instance killed after the SMTP server took an email and before the
/// outbox wrote so sends it again, under the same Message-ID (which lets the receiving side
/// fold the two). Such a resend is counted, not an offence, when a kill came between the two.
pub fn no_email_twice(record: &Record) -> Check {
    let mut sent: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    let mut offenders = Vec::new();
    let mut missing = 0;
    for email in &record.emails {
        match &email.message_id {
            Some(id) => sent.entry(id.as_str()).or_default().push(email.at),
            None => missing += 1,
        }
    }
    let mut after_kill = 0;
    for (id, times) in &sent {
        for pair in times.windows(2) {
            let (first, again) = (pair[0], pair[1]);
            let killed_between = record
                .kill_times
                .iter()
                .any(|k| *k >= first - Duration::hours(1) && *k <= again);
            if killed_between {
                after_kill += 1;
            } else {
                offenders.push(format!("{id} sent at {first} and again at {again}"));
            }
        }
    }
    if missing > 0 {
        offenders.push(format!("{missing} email(s) without a Message-ID"));
    }
    check(
        "no email was sent twice for one event",
        offenders,
        format!(
            "{} emails, {} Message-IDs, {after_kill} resent under the same Message-ID after a kill",
            record.emails.len(),
            sent.len()
        ),
    )
}

/// The outbox gave no email up: every one was sent, or cancelled by a reconnect, or is still
/// on its way.
pub async fn no_email_given_up(observer: &Observer) -> anyhow::Result<Check> {
    use tokenkeeper::domain::NotificationStatus;
    let counts = observer.store.notification_counts().await?;
    let count = |status| {
        counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    let failed = count(NotificationStatus::Failed);
    Ok(check(
        "no email was given up",
        if failed == 0 {
            vec![]
        } else {
            vec![format!("{failed} email(s) marked failed")]
        },
        format!(
            "{} sent, {} cancelled by a reconnect, {} pending",
            count(NotificationStatus::Sent),
            count(NotificationStatus::Cancelled),
            count(NotificationStatus::Pending)
        ),
    ))
}

pub async fn none_claimed(observer: &Observer, at: DateTime<Utc>) -> anyhow::Result<Check> {
    let claimed = observer.live_claims(at).await?;
    Ok(check(
        "no account is left claimed",
        if claimed == 0 {
            vec![]
        } else {
            vec![format!("{claimed} account(s) claimed at the end")]
        },
        "0 live claims".into(),
    ))
}

/// Each revocation is covered by exactly one reconnect episode: one first email in the life of
/// the connection it ended (from its connect to the next reconnect). One made in the last
/// `settle` before the end may not have been found yet: at most one then.
pub fn one_episode_per_revocation(record: &Record, end: DateTime<Utc>, settle: Duration) -> Check {
    let mut offenders = Vec::new();
    let mut connects: HashMap<usize, Vec<DateTime<Utc>>> = HashMap::new();
    for (index, at) in &record.reconnects {
        connects.entry(*index).or_default().push(*at);
    }
    for (index, revoked) in &record.revocations {
        let reconnects = connects.get(index).map(Vec::as_slice).unwrap_or(&[]);
        let since = reconnects
            .iter()
            .copied()
            .filter(|at| at < revoked)
            .max()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let until = reconnects
            .iter()
            .copied()
            .filter(|at| at > revoked)
            .min()
            .unwrap_or(end);
        let episodes = record
            .emails
            .iter()
            .filter(|e| e.member == Some(*index) && e.opens_episode())
            .filter(|e| e.at > since && e.at <= until)
            .count();
        let fine = episodes == 1 || (episodes == 0 && *revoked > end - settle);
        if !fine {
            offenders.push(format!("m{index} revoked {revoked}: {episodes} episode(s)"));
        }
    }
    check(
        "every revocation led to exactly one reconnect episode",
        offenders,
        format!("{} revocations", record.revocations.len()),
    )
}

pub fn every_click_reconnected(record: &Record) -> Check {
    check(
        "every member who clicked was reconnected",
        record
            .connect_failures
            .iter()
            .map(|(i, at, why)| format!("m{i} at {at}: {why}"))
            .collect(),
        format!(
            "{} reconnects, {} first connections, {} put off while the network was down",
            record.reconnects.len(),
            record.joins,
            record.connects_put_off
        ),
    )
}

/// The network whose refresh tokens are single use.
pub const SINGLE_USE: Network = Network::X;
