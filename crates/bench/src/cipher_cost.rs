//! What sealing costs, measured on its own: one thread seals and opens LinkedIn-sized tokens
//! (about 500 characters, as LinkedIn's are) with the service's own cipher, so the sweep's and
//! the read path's share of it can be set against their measured time per refresh or per read.

use std::time::{Duration, Instant};
use tokenkeeper::crypto::{Row, TokenCipher};
use tokenkeeper::domain::{AccessToken, UserId};

/// The length of the fake LinkedIn's access tokens, and of LinkedIn's own.
const TOKEN_LEN: usize = 500;
const CHUNK: u32 = 1_000;

pub struct Cost {
    pub seal: Duration,
    pub open: Duration,
}

/// Mean CPU time of one seal and of one open over `rounds` tokens, on this thread (without a
/// thread clock, the wall clock, which a busy machine inflates).
pub fn measure(cipher: &TokenCipher, rounds: u32) -> anyhow::Result<Cost> {
    anyhow::ensure!(rounds > 0, "the cipher is timed over at least one token");
    let user_id = UserId::parse("bench-cipher-cost")?;
    let row = Row::linkedin(&user_id);
    let token = AccessToken::new("A".repeat(TOKEN_LEN));
    // In chunks, so that the tokens sealed do not pile up in memory: the next run's peak
    // resident memory is read after this one.
    let (mut seal, mut open) = (Duration::ZERO, Duration::ZERO);
    for chunk in 0..rounds.div_ceil(CHUNK) {
        let count = CHUNK.min(rounds - chunk * CHUNK);
        let timer = Timer::start();
        let sealed: Vec<String> = (0..count).map(|_| cipher.seal(row, &token)).collect();
        seal += timer.elapsed();
        let timer = Timer::start();
        for value in &sealed {
            let opened: AccessToken = cipher.open(row, value)?;
            anyhow::ensure!(opened.expose().len() == TOKEN_LEN, "a token opened changed");
        }
        open += timer.elapsed();
    }
    let (seal, open) = (seal / rounds, open / rounds);
    Ok(Cost { seal, open })
}

struct Timer {
    wall: Instant,
    thread: Option<u64>,
}

impl Timer {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            thread: crate::cpu::thread_nanos(),
        }
    }

    fn elapsed(&self) -> Duration {
        match (self.thread, crate::cpu::thread_nanos()) {
            (Some(before), Some(after)) => Duration::from_nanos(after - before),
            _ => self.wall.elapsed(),
        }
    }
}

pub const SWEEP_HEADER: &str = "| backend | accounts | refreshed | CPU per refresh (µs) | seal (µs) | open (µs) | 2 opens + 2 seals (µs) | share of the CPU per refresh (%) |\n|---|---|---|---|---|---|---|---|";

pub const READ_HEADER: &str = "| backend | accounts | server CPU per read (µs) | open (µs) | 2 opens (µs) | share of the CPU per read (%) |\n|---|---|---|---|---|---|";

/// A refresh's encryption (it opens the two tokens it claims and seals the two it writes back)
/// set against the CPU time each refresh took.
pub fn sweep_row(lead: &str, cost: &Cost, cpu_seconds: Option<f64>, refreshed: usize) -> String {
    let per_refresh = 2.0 * micros(cost.open) + 2.0 * micros(cost.seal);
    let cpu = cpu_seconds.map(|s| s * 1e6 / refreshed.max(1) as f64);
    format!(
        "{lead} | {} | {:.2} | {:.2} | {per_refresh:.2} | {} |",
        optional(cpu, 0),
        micros(cost.seal),
        micros(cost.open),
        optional(cpu.map(|c| 100.0 * per_refresh / c), 2),
    )
}

/// A read's encryption (it opens the account's two tokens) set against the server's CPU time
/// per read.
pub fn read_row(lead: &str, cost: &Cost, cpu_seconds: Option<f64>, reads: usize) -> String {
    let per_read = 2.0 * micros(cost.open);
    let cpu = cpu_seconds.map(|s| s * 1e6 / reads.max(1) as f64);
    format!(
        "{lead} | {} | {:.2} | {per_read:.2} | {} |",
        optional(cpu, 0),
        micros(cost.open),
        optional(cpu.map(|c| 100.0 * per_read / c), 2),
    )
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(seal_us: u64, open_us: u64) -> Cost {
        Cost {
            seal: Duration::from_micros(seal_us),
            open: Duration::from_micros(open_us),
        }
    }

    #[test]
    fn a_refresh_pays_two_opens_and_two_seals_against_its_cpu_time() {
        // 100 refreshes in 0.004 s of CPU: 40 µs each; 2 x 3 + 2 x 1 = 8 µs of it is 20%.
        let row = sweep_row("| Sqlite | 10", &cost(3, 1), Some(0.004), 100);
        assert_eq!(row, "| Sqlite | 10 | 40 | 3.00 | 1.00 | 8.00 | 20.00 |");
        assert!(sweep_row("| x", &cost(3, 1), None, 100).ends_with("| 8.00 | - |"));
    }

    #[test]
    fn a_read_pays_two_opens_against_its_cpu_time() {
        let row = read_row("| Postgres | 10", &cost(3, 2), Some(0.01), 1000);
        assert_eq!(row, "| Postgres | 10 | 10 | 2.00 | 4.00 | 40.00 |");
    }

    #[test]
    fn the_cipher_is_timed_on_tokens_it_opens_again() {
        let cipher = crate::rotation::cipher(crate::rotation::OLD_KEY);
        let measured = measure(&cipher, 20).unwrap();
        assert!(measured.seal > Duration::ZERO && measured.open > Duration::ZERO);
    }
}
