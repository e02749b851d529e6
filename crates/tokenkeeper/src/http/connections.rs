//! The connections one listener holds open, so that no client can hold them all: a client
//! address (an IPv6 /64, as the rate limit counts) holds at most
//! `http.max_connections_per_client`, and when every slot is taken, the connection idle the
//! longest is closed to make way for a new one. A connection with a request in flight is never
//! chosen, and the one chosen is closed gracefully: should a request arrive on it meanwhile,
//! it is answered first.

use super::rate_limit::rate_limit_key;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub struct ConnectionTable {
    max: usize,
    /// `None` behind a trusted proxy: every connection then comes from the proxy.
    max_per_client: Option<usize>,
    open: Mutex<Open>,
    /// Wakes the accept loop waiting for a slot: a connection ended or went idle.
    changed: Notify,
    /// Every connection's close signal is a child of this: shutdown closes them all.
    stop: CancellationToken,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Connection>,
    per_client: HashMap<IpAddr, usize>,
}

struct Connection {
    client: IpAddr,
    /// `None` while a request is in flight, else since when none has been.
    idle_since: Option<Instant>,
    /// Cancelled to ask the connection to close; it holds its slot until it has.
    close: CancellationToken,
}

/// The client holds `http.max_connections_per_client` connections already.
#[derive(Debug)]
pub struct ClientAtLimit;

impl ConnectionTable {
    pub fn new(max: usize, max_per_client: Option<usize>, stop: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            max,
            max_per_client,
            open: Mutex::new(Open::default()),
            changed: Notify::new(),
            stop,
        })
    }

    /// A slot for a new connection from `peer`, once there is one: when none is free, the
    /// connection idle the longest is asked to close, and without an idle one this waits for
    /// a connection to end or go idle. A client at its limit is refused at once instead.
    pub async fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, ClientAtLimit> {
        let client = rate_limit_key(peer);
        loop {
            // Taken before looking, so a change between the look and the wait still wakes us.
            let changed = self.changed.notified();
            {
                let mut open = self.lock();
                let held = open.per_client.get(&client).copied().unwrap_or(0);
                if self.max_per_client.is_some_and(|max| held >= max) {
                    return Err(ClientAtLimit);
                }
                if open.connections.len() < self.max {
                    return Ok(self.insert(&mut open, client));
                }
                open.close_longest_idle();
            }
            changed.await;
        }
    }

    fn insert(self: &Arc<Self>, open: &mut Open, client: IpAddr) -> Slot {
        let id = open.next_id;
        open.next_id += 1;
        let close = self.stop.child_token();
        open.connections.insert(
            id,
            Connection {
                client,
                idle_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        *open.per_client.entry(client).or_default() += 1;
        Slot {
            table: self.clone(),
            id,
            close,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Nothing panics while holding it; a poisoned table would still be consistent.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_idle_since(&self, id: u64, idle_since: Option<Instant>) {
        if let Some(connection) = self.lock().connections.get_mut(&id) {
            connection.idle_since = idle_since;
        }
    }
}

impl Open {
    /// Asks the connection idle the longest to close, unless an idle one is closing already:
    /// one new connection needs one slot.
    fn close_longest_idle(&mut self) {
        let idle = || {
            self.connections
                .values()
                .filter_map(|c| c.idle_since.map(|since| (since, c)))
        };
        if idle().any(|(_, c)| c.close.is_cancelled()) {
            return;
        }
        if let Some((_, longest)) = idle().min_by_key(|(since, _)| *since) {
            longest.close.cancel();
            metrics::counter!("tokenkeeper_http_idle_connections_closed_total").increment(1);
            tracing::debug!(client = %longest.client, "closing an idle connection: every slot is taken");
        }
    }
}

/// One admitted connection's place in the table, given back when dropped.
pub struct Slot {
    table: Arc<ConnectionTable>,
    id: u64,
    close: CancellationToken,
}

impl Slot {
    /// Cancelled when the connection should close: it was idle the longest while a new one
    /// waited, or the server shuts down.
    pub fn close_signal(&self) -> CancellationToken {
        self.close.clone()
    }

    /// For the connection's service, which marks each request in flight with it.
    pub fn requests(&self) -> Requests {
        Requests {
            table: self.table.clone(),
            id: self.id,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.lock();
        if let Some(connection) = open.connections.remove(&self.id) {
            if let Some(held) = open.per_client.get_mut(&connection.client) {
                *held -= 1;
                if *held == 0 {
                    open.per_client.remove(&connection.client);
                }
            }
        }
        drop(open);
        self.table.changed.notify_one();
    }
}

/// Marks the requests of one connection in flight, so that a busy connection is never the one
/// closed for a new client.
#[derive(Clone)]
pub struct Requests {
    table: Arc<ConnectionTable>,
    id: u64,
}

impl Requests {
    /// The connection is busy until the returned guard is dropped (its answer is ready).
    pub fn start(&self) -> InFlight {
        self.table.set_idle_since(self.id, None);
        InFlight(self.clone())
    }
}

pub struct InFlight(Requests);

impl Drop for InFlight {
    fn drop(&mut self) {
        let Requests { table, id } = &self.0;
        table.set_idle_since(*id, Some(Instant::now()));
        // The accept loop may be waiting for a connection it can close.
        table.changed.notify_one();
    }
}
