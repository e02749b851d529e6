//! Writing a refresh's result. New tokens from the network are the one result that cannot be
//! asked for again: a network that rotates refresh tokens (X, TikTok, a standard server) has
//! already spent the old one. So a write of new tokens that fails for a reason that may pass
//! (the database restarting, a connection cut) is tried again, for about half a minute,
//! before it is given up and reported.

use crate::domain::Account;
use crate::store::{RefreshLogEntry, RefreshStore, RefreshWrite, StoreError};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

/// Attempts after the first, for new tokens only.
const RETRIES: usize = 6;

pub(super) async fn complete_refresh(
    store: &dyn RefreshStore,
    account: &Account,
    write: &RefreshWrite,
    log: &[RefreshLogEntry],
) -> Result<bool, StoreError> {
    let retries = if matches!(write, RefreshWrite::Refreshed { .. }) {
        RETRIES
    } else {
        0
    };
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(retries)
        .build();
    loop {
        match store.complete_refresh(account, write, log).await {
            Ok(kept) => return Ok(kept),
            Err(error) => match delays.next().filter(|_| may_pass(&error)) {
                Some(pause) => {
                    tracing::warn!(
                        account_id = account.id,
                        error = %crate::telemetry::error_chain(&error),
                        retry_in_ms = pause.as_millis() as u64,
                        "could not write the new tokens; trying again"
                    );
                    tokio::time::sleep(pause).await;
                }
                None => {
                    if retries > 0 {
                        tracing::error!(
                            account_id = account.id,
                            "new tokens from the network could not be written; the next refresh of this account may be refused, and its member asked to reconnect"
                        );
                    }
                    return Err(error);
                }
            },
        }
    }
}

/// A database that did not answer may answer the next time; a row that does not open will
/// not.
fn may_pass(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(_))
}
