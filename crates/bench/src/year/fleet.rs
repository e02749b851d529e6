//! The simulated members: which network each holds, how each answers a reconnect email, when
//! each joins, revokes the app and is read by the host app. Drawn once from a seed, so the run
//! with tokenkeeper and the status quo it is compared with see the same people.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A network as the simulation mixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// LinkedIn for a partner app: refresh tokens that live a year.
    LinkedinPartner,
    /// LinkedIn for an app with the open products only: no refresh token, a 60-day token.
    LinkedinOpen,
    /// X: 2-hour access tokens, single-use refresh tokens.
    X,
}

impl Network {
    pub const ALL: [Network; 3] = [Network::LinkedinPartner, Network::LinkedinOpen, Network::X];

    /// The provider's name in tokenkeeper's configuration.
    pub fn provider(self) -> &'static str {
        match self {
            Network::LinkedinPartner => "linkedin",
            Network::LinkedinOpen => "linkedin_open",
            Network::X => "x",
        }
    }
}

/// How a member answers a reconnect email (or, without tokenkeeper, a dead connection they
/// notice): the same day, within a week, late (8 to 30 days), or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    SameDay,
    Week,
    Late,
    Never,
}

impl Answer {
    /// How long after being asked this member acts, or `None` for never.
    pub fn delay(self, rng: &mut StdRng) -> Option<Duration> {
        let hours = match self {
            Answer::SameDay => rng.gen_range(1..12),
            Answer::Week => rng.gen_range(24..7 * 24),
            Answer::Late => rng.gen_range(8 * 24..30 * 24),
            Answer::Never => return None,
        };
        Some(Duration::hours(hours))
    }
}

/// The mix, in percent (each list sums to 100).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mix {
    pub networks: Vec<(Network, u32)>,
    pub answers: Vec<(Answer, u32)>,
    /// Revocations per member and year (a Poisson rate).
    pub revocations_per_year: f64,
    /// Host reads per member and week, by network (X is read often: its tokens live 2 h).
    pub reads_per_week: Vec<(Network, f64)>,
    /// Members join over this many days from the start.
    pub join_days: i64,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            networks: vec![
                (Network::LinkedinPartner, 20),
                (Network::LinkedinOpen, 60),
                (Network::X, 20),
            ],
            answers: vec![
                (Answer::SameDay, 40),
                (Answer::Week, 30),
                (Answer::Late, 15),
                (Answer::Never, 15),
            ],
            revocations_per_year: 0.1,
            reads_per_week: vec![
                (Network::LinkedinPartner, 1.0),
                (Network::LinkedinOpen, 1.0),
                (Network::X, 3.0),
            ],
            join_days: 30,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub index: usize,
    pub network: Network,
    pub answer: Answer,
    pub joins_at: DateTime<Utc>,
    pub revokes_at: Vec<DateTime<Utc>>,
    /// The host app reads this member's token at these times.
    pub reads_at: Vec<DateTime<Utc>>,
}

impl Member {
    pub fn user_id(&self) -> String {
        format!("m{}", self.index)
    }
    /// The member's id at the network (the fake signs them in under it).
    pub fn sub(&self) -> String {
        format!("member-{}", self.index)
    }
    pub fn email(&self) -> String {
        format!("m{}@members.example", self.index)
    }
}

/// The member an email address names, if it is one of ours.
pub fn index_of_email(address: &str) -> Option<usize> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    address
        .strip_prefix('m')?
        .strip_suffix("@members.example")?
        .parse()
        .ok()
}

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for &(item, weight) in weighted {
        if roll < weight {
            return item;
        }
        roll -= weight;
    }
    weighted[weighted.len() - 1].0
}

/// Times of a Poisson process of `per_year` events over [from, until).
fn poisson(
    rng: &mut StdRng,
    per_year: f64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    if per_year <= 0.0 {
        return times;
    }
    let mut at = from;
    loop {
        let gap_days = -rng.gen::<f64>().max(f64::MIN_POSITIVE).ln() * 365.0 / per_year;
        at += Duration::seconds((gap_days * 86_400.0) as i64);
        if at >= until {
            return times;
        }
        times.push(at);
    }
}

pub fn draw(
    members: usize,
    mix: &Mix,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    seed: u64,
) -> Vec<Member> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..members)
        .map(|index| {
            let network = pick(&mut rng, &mix.networks);
            let answer = pick(&mut rng, &mix.answers);
            let joins_at =
                start + Duration::minutes(rng.gen_range(60..mix.join_days.max(1) * 1440));
            let revokes_at = poisson(
                &mut rng,
                mix.revocations_per_year,
                joins_at + Duration::days(1),
                end,
            );
            let per_week = mix
                .reads_per_week
                .iter()
                .find(|(n, _)| *n == network)
                .map_or(0.0, |(_, r)| *r);
            let mut reads_at = Vec::new();
            if per_week > 0.0 {
                let every = Duration::seconds((7.0 * 86_400.0 / per_week) as i64);
                let mut at = joins_at
                    + Duration::seconds(rng.gen_range(3600..every.num_seconds().max(3601)));
                while at < end {
                    reads_at.push(at);
                    at += every;
                }
            }
            Member {
                index,
                network,
                answer,
                joins_at,
                revokes_at,
                reads_at,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_same_seed_draws_the_same_fleet_in_the_stated_mix() {
        let start = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let end = start + Duration::days(365);
        let a = draw(10_000, &Mix::default(), start, end, 7);
        let b = draw(10_000, &Mix::default(), start, end, 7);
        assert_eq!(
            a.iter().map(|m| m.joins_at).collect::<Vec<_>>(),
            b.iter().map(|m| m.joins_at).collect::<Vec<_>>()
        );
        let open = a
            .iter()
            .filter(|m| m.network == Network::LinkedinOpen)
            .count();
        assert!(
            (5_700..6_300).contains(&open),
            "{open} of 10,000 on the open LinkedIn app"
        );
        let never = a.iter().filter(|m| m.answer == Answer::Never).count();
        assert!((1_300..1_700).contains(&never), "{never} never answer");
        let revocations: usize = a.iter().map(|m| m.revokes_at.len()).sum();
        assert!(
            (800..1_200).contains(&revocations),
            "{revocations} revocations"
        );
        assert!(a.iter().all(|m| m.joins_at < start + Duration::days(30)));
        assert_eq!(index_of_email(&a[42].email()), Some(42));
    }
}
