//! Token reads that arrive while the database is busy are answered together, by one
//! statement: each read still gets exactly its own account (or its own 404, or its own error),
//! on every backend. The readers' statements are watched, and held, by a source between them
//! and the real store, so which reads share a statement is decided by the test, not by timing.

use crate::backend_tests;
use crate::support::raw_sql;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp, API_KEY};
use async_trait::async_trait;
use reqwest::StatusCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use test_databases::Backend;
use tokenkeeper::domain::{Account, UserId};
use tokenkeeper::store::{Store, StoreError, MAX_USERS_PER_READ};
use tokenkeeper::token_reads::{AccountSource, TokenReads, READERS};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

backend_tests!(
    one_statement_asks_for_exactly_the_users_named,
    reads_queued_behind_busy_readers_share_one_statement,
    a_row_that_does_not_open_fails_only_its_own_read,
    a_reader_that_panics_is_started_again,
    many_reads_at_once_each_get_their_own_account,
);
backend_tests!(only [Postgres, MySql]: a_connection_the_server_cut_fails_no_read_and_is_not_kept);

/// The store, with each gathered statement recorded (how many users it named) and held until
/// the test opens the gate.
struct Watched {
    store: Arc<dyn Store>,
    asked: Mutex<Vec<usize>>,
    started: mpsc::UnboundedSender<usize>,
    gate: Semaphore,
    /// The next gathered statement panics instead (a bug in a reader, say).
    panic_next: AtomicBool,
    /// Reads that asked again on their own.
    alone: AtomicUsize,
}

#[async_trait]
impl AccountSource for Watched {
    async fn account_by_user(
        &self,
        provider: &tokenkeeper::domain::ProviderName,
        user_id: &UserId,
    ) -> Result<Option<Account>, StoreError> {
        self.alone.fetch_add(1, Ordering::SeqCst);
        self.store.account_by_user(provider, user_id).await
    }

    async fn accounts_by_users(
        &self,
        provider: &tokenkeeper::domain::ProviderName,
        user_ids: &[UserId],
    ) -> Result<Vec<Result<Account, StoreError>>, StoreError> {
        if self.panic_next.swap(false, Ordering::SeqCst) {
            panic!("a reader's statement panicked (on purpose)");
        }
        self.asked.lock().unwrap().push(user_ids.len());
        let _ = self.started.send(user_ids.len());
        let _pass = self.gate.acquire().await.unwrap();
        self.store.accounts_by_users(provider, user_ids).await
    }
}

type PendingRead = JoinHandle<Result<Option<Account>, StoreError>>;

/// Readers over `app`'s store whose statements wait for the gate, and the signal each
/// statement sends as it starts.
fn watched_reads(app: &TestApp) -> (Arc<Watched>, TokenReads, mpsc::UnboundedReceiver<usize>) {
    let (started, starts) = mpsc::unbounded_channel();
    let watched = Arc::new(Watched {
        store: app.store.clone(),
        asked: Mutex::new(Vec::new()),
        started,
        gate: Semaphore::new(0),
        panic_next: AtomicBool::new(false),
        alone: AtomicUsize::new(0),
    });
    let reads = TokenReads::start(watched.clone());
    (watched, reads, starts)
}

fn read(reads: &TokenReads, user_id: &str) -> PendingRead {
    let reads = reads.clone();
    let user_id = UserId::parse(user_id).unwrap();
    tokio::spawn(async move {
        reads
            .account(tokenkeeper::domain::ProviderName::linkedin_ref(), &user_id)
            .await
    })
}

/// Keeps every reader busy with one read of `user_id`, each held at the gate.
async fn occupy_every_reader(
    reads: &TokenReads,
    starts: &mut mpsc::UnboundedReceiver<usize>,
    user_id: &str,
) -> Vec<PendingRead> {
    let mut pending = Vec::new();
    for _ in 0..READERS {
        pending.push(read(reads, user_id));
        let started = tokio::time::timeout(PATIENCE, starts.recv()).await;
        assert_eq!(
            started,
            Ok(Some(1)),
            "a free reader takes a read alone, at once"
        );
    }
    pending
}

/// How long a step that needs no database may take before the test calls it broken rather
/// than hanging: far more than it needs.
const PATIENCE: Duration = Duration::from_secs(10);

/// Returns once `count` reads are queued behind the busy readers.
async fn queued(reads: &TokenReads, count: usize) {
    let all_queued = async {
        while reads.waiting() < count {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(PATIENCE, all_queued)
        .await
        .unwrap_or_else(|_| panic!("{count} reads never queued: {} did", reads.waiting()));
    assert_eq!(reads.waiting(), count);
}

async fn one_statement_asks_for_exactly_the_users_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = app.seed(MAX_USERS_PER_READ + 1, t0()).await;
    let ids = |names: &[&str]| -> Vec<UserId> {
        names.iter().map(|n| UserId::parse(n).unwrap()).collect()
    };
    let users_of = |answer: Vec<Result<Account, StoreError>>| -> Vec<String> {
        let mut users: Vec<String> = answer
            .into_iter()
            .map(|a| a.unwrap().user_id.as_str().to_owned())
            .collect();
        users.sort();
        users
    };

    assert!(app
        .store
        .accounts_by_users(tokenkeeper::domain::ProviderName::linkedin_ref(), &[])
        .await
        .unwrap()
        .is_empty());
    // Three names are asked as four (the last repeated): each account still comes once. A
    // name differing only in case is another user.
    let answer = app
        .store
        .accounts_by_users(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &ids(&["seed-2", "SEED-1", "seed-0", "nobody"]),
        )
        .await
        .unwrap();
    assert_eq!(users_of(answer), ["seed-0", "seed-2"]);
    let answer = app
        .store
        .accounts_by_users(
            tokenkeeper::domain::ProviderName::linkedin_ref(),
            &ids(&["seed-1", "Seed-3", "seed-4"]),
        )
        .await
        .unwrap();
    assert_eq!(users_of(answer), ["seed-1", "seed-4"]);

    // The most one statement names, each answered with its own tokens.
    let all: Vec<UserId> = seeded[..MAX_USERS_PER_READ]
        .iter()
        .map(|a| a.user_id.clone())
        .collect();
    let answer = app
        .store
        .accounts_by_users(tokenkeeper::domain::ProviderName::linkedin_ref(), &all)
        .await
        .unwrap();
    assert_eq!(answer.len(), MAX_USERS_PER_READ);
    for account in answer {
        let account = account.unwrap();
        let stored = seeded
            .iter()
            .find(|s| s.user_id == account.user_id)
            .unwrap();
        assert_eq!(account.token.expose(), stored.token.expose());
        assert_eq!(account.id, stored.id);
    }
}

async fn reads_queued_behind_busy_readers_share_one_statement(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = app.seed(70, t0()).await;
    let (watched, reads, mut starts) = watched_reads(&app);
    let first = occupy_every_reader(&reads, &mut starts, "seed-0").await;

    // Seventy users and one without an account queue meanwhile: more than one statement
    // takes.
    let mut names: Vec<String> = seeded.iter().map(|a| a.user_id.as_str().into()).collect();
    names.push("nobody".into());
    let queued_reads: Vec<PendingRead> = names.iter().map(|n| read(&reads, n)).collect();
    queued(&reads, names.len()).await;

    watched.gate.add_permits(1_000);
    for pending in first {
        let account = pending.await.unwrap().unwrap().unwrap();
        assert_eq!(account.token.expose(), seeded[0].token.expose());
    }
    for (name, pending) in names.iter().zip(queued_reads) {
        let answer = pending.await.unwrap().unwrap();
        match seeded.iter().find(|s| s.user_id.as_str() == name) {
            Some(stored) => {
                let account = answer.expect("a stored account is found");
                assert_eq!(account.user_id, stored.user_id);
                assert_eq!(account.token.expose(), stored.token.expose());
            }
            None => assert!(answer.is_none(), "{name} has no account"),
        }
    }
    // One statement per busy reader, then as few as hold everything that queued.
    let mut asked = vec![1; READERS];
    asked.extend([MAX_USERS_PER_READ, 71 - MAX_USERS_PER_READ]);
    assert_eq!(*watched.asked.lock().unwrap(), asked);
    // The user without an account was answered by the shared statement too.
    assert_eq!(watched.alone.load(Ordering::SeqCst), 0);
}

async fn a_row_that_does_not_open_fails_only_its_own_read(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = app.seed(6, t0()).await;
    // seed-3 now holds a token sealed for another row: it must not open as seed-1's token.
    raw_sql::execute(
        app.config.database_url.expose(),
        &format!(
            "UPDATE social_network SET token = (SELECT token FROM (SELECT token FROM social_network WHERE id = {}) AS o) WHERE id = {}",
            seeded[1].id, seeded[3].id
        ),
    )
    .await
    .unwrap();
    let (watched, reads, mut starts) = watched_reads(&app);
    let first = occupy_every_reader(&reads, &mut starts, "seed-0").await;
    let damaged = read(&reads, "seed-3");
    let healthy = read(&reads, "seed-5");
    let healthy_again = read(&reads, "seed-5");
    let missing = read(&reads, "nobody");
    queued(&reads, 4).await;
    watched.gate.add_permits(1_000);

    for pending in first {
        assert!(pending.await.unwrap().unwrap().is_some());
    }
    let error = damaged
        .await
        .unwrap()
        .expect_err("a row that does not open");
    assert!(
        matches!(error, StoreError::SealedToken { id, .. } if id == seeded[3].id),
        "{error}"
    );
    for healthy in [healthy, healthy_again] {
        let account = healthy.await.unwrap().unwrap().unwrap();
        assert_eq!(account.token.expose(), seeded[5].token.expose());
    }
    assert!(missing.await.unwrap().unwrap().is_none());
    // The four reads of three users shared one statement; the damaged row's error was its
    // own read's. With a row that did not open, an absent user cannot be told from it, so
    // both asked again alone; the found user did not.
    assert_eq!(watched.asked.lock().unwrap().last(), Some(&3));
    assert_eq!(watched.alone.load(Ordering::SeqCst), 2);
}

async fn a_reader_that_panics_is_started_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = app.seed(1, t0()).await;
    let (watched, reads, mut starts) = watched_reads(&app);
    watched.panic_next.store(true, Ordering::SeqCst);
    // The read whose reader panicked asks again on its own and gets its account.
    let account = read(&reads, "seed-0").await.unwrap().unwrap().unwrap();
    assert_eq!(account.token.expose(), seeded[0].token.expose());
    // Every reader is there again: each takes a read of its own.
    let pending = occupy_every_reader(&reads, &mut starts, "seed-0").await;
    watched.gate.add_permits(1_000);
    for read in pending {
        assert!(read.await.unwrap().unwrap().is_some());
    }
}

async fn many_reads_at_once_each_get_their_own_account(backend: Backend) {
    // 300 connections at once from one address: a host app this busy raises its share.
    let setup = Setup::default().var("HTTP__MAX_CONNECTIONS_PER_CLIENT", 300);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let seeded = Arc::new(app.seed(70, t0()).await);
    let mut requests = Vec::new();
    for i in 0..300 {
        let browser = app.browser.clone();
        let (user_id, expected) = match seeded.get(i % 75) {
            Some(account) => (account.user_id.as_str().to_owned(), Some(account.clone())),
            None => (format!("nobody-{i}"), None),
        };
        let url = app.url(&format!("/api/v1/accounts/{user_id}"));
        requests.push(tokio::spawn(async move {
            let answer = browser.get(url).bearer_auth(API_KEY).send().await.unwrap();
            let status = answer.status();
            let body: serde_json::Value = answer.json().await.unwrap();
            match expected {
                Some(account) => {
                    assert_eq!(status, StatusCode::OK, "{body}");
                    assert_eq!(body["user_id"], account.user_id.as_str());
                    assert_eq!(body["access_token"], account.token.expose());
                }
                None => assert_eq!(status, StatusCode::NOT_FOUND, "{body}"),
            }
        }));
    }
    for request in requests {
        request.await.unwrap();
    }
}

/// The readers keep their connection between statements. When the server cuts it (a restart,
/// an idle time-out, an operator's kill), the statement on it fails, its reads ask again on
/// their own and get their accounts, and the next statement runs on a new connection.
async fn a_connection_the_server_cut_fails_no_read_and_is_not_kept(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seeded = app.seed(3, t0()).await;
    let (watched, reads, _starts) = watched_reads(&app);
    watched.gate.add_permits(1_000);
    let found = |answer: Result<Option<Account>, StoreError>, i: usize| {
        let account = answer.unwrap().expect("a stored account is found");
        assert_eq!(account.token.expose(), seeded[i].token.expose());
    };
    found(read(&reads, "seed-0").await.unwrap(), 0);
    assert_eq!(watched.alone.load(Ordering::SeqCst), 0);

    cut_every_other_connection(&backend, app.config.database_url.expose()).await;
    found(read(&reads, "seed-1").await.unwrap(), 1);
    assert_eq!(
        watched.alone.load(Ordering::SeqCst),
        1,
        "the statement ran on the kept connection, failed, and its read asked alone"
    );
    found(read(&reads, "seed-2").await.unwrap(), 2);
    assert_eq!(
        watched.alone.load(Ordering::SeqCst),
        1,
        "the cut connection was not kept"
    );
    assert_eq!(watched.asked.lock().unwrap().len(), 3);
}

/// Ends, from the server's side, every session on this test's database but the one asking.
async fn cut_every_other_connection(backend: &Backend, url: &str) {
    match backend {
        Backend::Postgres => {
            raw_sql::execute(
                url,
                // With a time-out, PostgreSQL waits for each session to end before answering.
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await
            .unwrap();
        }
        Backend::MySql => {
            let sessions: Vec<(i64,)> = raw_sql::rows(
                url,
                "SELECT CAST(id AS SIGNED) FROM information_schema.processlist \
                 WHERE db = DATABASE() AND id <> CONNECTION_ID()",
            )
            .await;
            assert!(!sessions.is_empty(), "the service holds connections");
            for (id,) in sessions {
                // A session may end by itself meanwhile.
                let _ = raw_sql::execute(url, &format!("KILL {id}")).await;
            }
        }
        Backend::Sqlite => unreachable!("SQLite has no server to cut a connection"),
    }
}
