//! `tokenkeeper keys`: a new encryption key, and the rotation of stored tokens onto the
//! active one.

use crate::config::Config;
use crate::services::Services;
use anyhow::Context;

/// The entry alone goes to stdout, so `tokenkeeper keys generate >> keys.txt` keeps only it;
/// the advice goes to stderr.
pub fn generate() {
    println!("{}", *crate::crypto::new_entry(chrono::Utc::now()));
    eprintln!(
        "add this entry to encryption.keys (TOKENKEEPER_ENCRYPTION__KEYS, comma-separated) on every instance, then make it the first entry or name its id in encryption.active_key; keep it secret"
    );
}

/// The summary goes to stdout; rows that do not open make the exit status non-zero, so a
/// script does not take the rotation for complete.
pub async fn rotate(config: &Config, batch: i64) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    let store = Services::build(config).await?.store;
    let total = u64::try_from(store.count_accounts().await?).unwrap_or(0);
    let summary = crate::key_rotation::rotate_all(&*store, batch, total)
        .await
        .context("the rotation stopped; rows before this one were rotated, run it again once the key is back in encryption.keys")?;
    let active = store.token_cipher().keyring().active_id().to_string();
    print!(
        "{}",
        crate::key_rotation::render_summary(&summary, &active, store.plaintext())
    );
    anyhow::ensure!(
        summary.failed == 0,
        "{} row(s) hold values that do not open: they were left as they are",
        summary.failed
    );
    Ok(())
}
