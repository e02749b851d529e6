//! Token reads, gathered. The host app reads a token before each LinkedIn call, so under load
//! many reads wait at once. One statement per read costs three round trips to the database
//! (to SQLite's worker thread) with sqlx's pool: a ping when the connection is taken, the
//! statement, and a ping when it goes back, which sqlx makes on every return. Instead, the
//! reads that arrive while the readers are busy are answered by one statement for all of
//! them. A read that finds a reader idle goes at once, alone: no read waits for others to
//! join it, so a quiet server answers as fast as before.
//! The store runs these statements on connections it keeps between them (store/sql/kept.rs),
//! so a statement costs one round trip, not three.
//!
//! Nothing is cached: every answer comes from a statement that started after the read
//! arrived, so a read never sees a token older than the one stored when it was asked.

use crate::domain::{Account, ProviderName, UserId};
use crate::store::{AccountStore, StoreError, MAX_USERS_PER_READ};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Where reads are answered from: the store's two reads of accounts by user. The store is the
/// one source; a test may put itself between them to watch the statements.
#[async_trait]
pub trait AccountSource: Send + Sync + 'static {
    async fn account_by_user(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
    ) -> Result<Option<Account>, StoreError>;

    async fn accounts_by_users(
        &self,
        provider: &ProviderName,
        user_ids: &[UserId],
    ) -> Result<Vec<Result<Account, StoreError>>, StoreError>;
}

#[async_trait]
impl AccountSource for Arc<dyn AccountStore> {
    async fn account_by_user(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
    ) -> Result<Option<Account>, StoreError> {
        self.as_ref().account_by_user(provider, user_id).await
    }

    async fn accounts_by_users(
        &self,
        provider: &ProviderName,
        user_ids: &[UserId],
    ) -> Result<Vec<Result<Account, StoreError>>, StoreError> {
        self.as_ref().accounts_by_users(provider, user_ids).await
    }
}

/// Statements in flight at once, each on one pooled connection: the sweep, the mail worker
/// and the rest of the API keep the others. Fewer readers make larger batches; two did best
/// of 1, 2, 4 and 8 on the two-core machine of docs/benchmarks.md (token reads), and at up to 64
/// users a statement they are far from a limit.
pub const READERS: usize = 2;

/// Reads queued beyond this wait to be queued; the server's connection limit bounds them
/// long before.
const QUEUE: usize = 4096;

/// The handle the API reads accounts through.
#[derive(Clone)]
pub struct TokenReads {
    store: Arc<dyn AccountSource>,
    queue: mpsc::Sender<Read>,
}

struct Read {
    provider: ProviderName,
    user_id: UserId,
    answer: oneshot::Sender<Answer>,
}

enum Answer {
    Found(Box<Account>),
    Missing,
    /// The gathered statement failed, or a row in its answer did not open: the read asks
    /// again on its own, and so gets its own answer or its own error.
    AskAlone,
}

impl TokenReads {
    /// Starts the readers; they stop when the last handle is dropped.
    pub fn start(store: Arc<dyn AccountSource>) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..READERS {
            tokio::spawn(keep_reading(store.clone(), waiting.clone()));
        }
        Self { store, queue }
    }

    /// The user's account with `provider`, tokens included, as stored when the read was
    /// asked.
    pub async fn account(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
    ) -> Result<Option<Account>, StoreError> {
        let (answer, answered) = oneshot::channel();
        let read = Read {
            provider: provider.clone(),
            user_id: user_id.clone(),
            answer,
        };
        if self.queue.send(read).await.is_ok() {
            match answered.await {
                Ok(Answer::Found(account)) => return Ok(Some(*account)),
                Ok(Answer::Missing) => return Ok(None),
                // A reader that panicked drops its reads' answers: they ask alone too.
                Ok(Answer::AskAlone) | Err(_) => {}
            }
        }
        self.store.account_by_user(provider, user_id).await
    }

    /// Reads queued for a reader that is busy.
    pub fn waiting(&self) -> usize {
        QUEUE - self.queue.capacity()
    }
}

/// One reader, started again if it panics, until the queue closes.
async fn keep_reading(store: Arc<dyn AccountSource>, waiting: Arc<Mutex<mpsc::Receiver<Read>>>) {
    crate::workers::restart_on_panic("a token reader", || {
        read_batches(store.clone(), waiting.clone())
    })
    .await
}

async fn read_batches(store: Arc<dyn AccountSource>, waiting: Arc<Mutex<mpsc::Receiver<Read>>>) {
    while let Some(batch) = next_batch(&waiting).await {
        answer(store.as_ref(), batch).await;
    }
}

/// The next read and every read already queued behind it, up to one statement's worth.
/// `None` once the queue is closed and empty.
async fn next_batch(waiting: &Mutex<mpsc::Receiver<Read>>) -> Option<Vec<Read>> {
    let mut waiting = waiting.lock().await;
    let first = waiting.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_USERS_PER_READ {
        match waiting.try_recv() {
            Ok(read) => batch.push(read),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Answers a batch with one statement per provider in it (one, nearly always).
async fn answer(store: &dyn AccountSource, batch: Vec<Read>) {
    let mut by_provider: BTreeMap<ProviderName, Vec<Read>> = BTreeMap::new();
    for read in batch {
        by_provider
            .entry(read.provider.clone())
            .or_default()
            .push(read);
    }
    for (provider, reads) in by_provider {
        answer_one_provider(store, &provider, reads).await;
    }
}

async fn answer_one_provider(store: &dyn AccountSource, provider: &ProviderName, batch: Vec<Read>) {
    let mut user_ids: Vec<UserId> = batch.iter().map(|read| read.user_id.clone()).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let (found, complete) = match store.accounts_by_users(provider, &user_ids).await {
        Ok(rows) => {
            let complete = rows.iter().all(Result::is_ok);
            let found: HashMap<UserId, Account> = rows
                .into_iter()
                .flatten()
                .map(|account| (account.user_id.clone(), account))
                .collect();
            (found, complete)
        }
        Err(error) => {
            tracing::debug!(%error, reads = batch.len(), "a gathered token read failed");
            (HashMap::new(), false)
        }
    };
    for read in batch {
        let answer = match found.get(&read.user_id) {
            Some(account) => Answer::Found(Box::new(account.clone())),
            None if complete => Answer::Missing,
            None => Answer::AskAlone,
        };
        // A read whose request has gone no longer listens; nothing is lost.
        let _ = read.answer.send(answer);
    }
}
