//! `keys rotate` at scale: every row of a seeded table, sealed under one key, moved to another
//! by the same code the command runs, timed from the first batch to the summary.

use std::time::Instant;
use tokenkeeper::crypto::{Keyring, TokenCipher};
use tokenkeeper::key_rotation::rotate_all;
use tokenkeeper::store;

/// The key the benchmark's rows are sealed under, and the one the rotation moves them to.
pub const OLD_KEY: &str = "bench-old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW_KEY: &str = "bench-new:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

pub fn cipher(entries: &str) -> TokenCipher {
    TokenCipher::new(Keyring::parse(entries, None).expect("the benchmark's keys parse"))
}

/// What one rotation over the whole table did and how long it took.
pub struct Measured {
    pub seconds: f64,
    pub rotated: u64,
    pub other: u64,
}

/// Rotates every row of the database from `OLD_KEY` to a new key, in batches of `batch`.
pub async fn measure(database_url: &str, total: u64, batch: i64) -> anyhow::Result<Measured> {
    let store = store::connect(database_url, cipher(&format!("{NEW_KEY},{OLD_KEY}"))).await?;
    let started = Instant::now();
    let summary = rotate_all(&*store, batch, total).await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Measured {
        seconds,
        rotated: summary.rotated,
        other: summary.already_current + summary.changed_concurrently + summary.failed,
    })
}
