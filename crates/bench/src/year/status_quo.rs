//! The year without tokenkeeper, for the same members: the status quo the proposal describes.
//! A LinkedIn token dies 60 days after each connection (nobody refreshes it); an X connection
//! lives on as long as the host app refreshes it when it reads, so it dies only when the member
//! revokes the app. A dead connection is noticed by the member after the same kind of delay as
//! a reconnect email gets from them (same day, within a week, late, never), and they reconnect
//! by hand. Revoking while already disconnected changes nothing.

use super::fleet::{Member, Network};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// One member's connection without tokenkeeper: when it was dead, and the hand reconnects.
#[derive(Debug, Default, Clone)]
pub struct Life {
    pub dead: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub reconnects: Vec<DateTime<Utc>>,
}

impl Life {
    pub fn dead_at(&self, at: DateTime<Utc>) -> bool {
        self.dead
            .iter()
            .any(|(from, until)| *from <= at && at < *until)
    }
}

fn token_life(network: Network) -> Option<Duration> {
    match network {
        Network::LinkedinPartner | Network::LinkedinOpen => Some(Duration::days(60)),
        Network::X => None,
    }
}

pub fn live(member: &Member, end: DateTime<Utc>, seed: u64) -> Life {
    let mut rng = StdRng::seed_from_u64(seed ^ (member.index as u64).wrapping_mul(0x9e37_79b9));
    let mut life = Life::default();
    let mut connected = member.joins_at;
    loop {
        let ends = token_life(member.network).map(|l| connected + l);
        let revoked = member.revokes_at.iter().copied().find(|r| *r >= connected);
        let death = match (ends, revoked) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return life,
        };
        if death >= end {
            return life;
        }
        let Some(delay) = member.answer.delay(&mut rng) else {
            life.dead.push((death, end));
            return life;
        };
        let back = death + delay;
        life.dead.push((death, back.min(end)));
        if back >= end {
            return life;
        }
        life.reconnects.push(back);
        connected = back;
    }
}
