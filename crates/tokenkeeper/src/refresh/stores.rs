//! What the refresh engine reads and writes: one storage trait per job, so that each can be
//! replaced on its own (a test wraps `refresh` to break one write, say).

use crate::store::{AccountStore, HostApiStore, RefreshStore, RunStore, Store};
use std::sync::Arc;

#[derive(Clone)]
pub struct EngineStores {
    /// Claims, refresh results and the refresh log.
    pub refresh: Arc<dyn RefreshStore>,
    /// The record of each sweep, one per slot.
    pub runs: Arc<dyn RunStore>,
    /// Refresh on demand: claiming one user's account.
    pub host_api: Arc<dyn HostApiStore>,
    /// Refresh on demand: reading the account back once written.
    pub accounts: Arc<dyn AccountStore>,
}

impl EngineStores {
    /// Every port from the one store.
    pub fn of(store: &Arc<dyn Store>) -> Self {
        Self {
            refresh: store.clone(),
            runs: store.clone(),
            host_api: store.clone(),
            accounts: store.clone(),
        }
    }
}
