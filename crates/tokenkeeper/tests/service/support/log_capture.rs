//! Logs captured by the test that makes them. Tests run on a current-thread runtime, so every
//! task of a test (the server's included) logs to the subscriber the test installs here.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use test_databases::Backend;
use tokio::sync::watch;
use tracing::subscriber::DefaultGuard;

#[derive(Clone, Copy)]
pub enum LogFormat {
    Human,
    Json,
}

/// Everything logged at or above `filter` while it lives.
pub struct LogCapture {
    buffer: Buffer,
    _guard: DefaultGuard,
}

/// While a single dispatcher is registered, tracing-core decides a call site's interest from
/// the dispatcher of whichever thread first reaches it. A call site first reached by another
/// test's thread, which captures nothing, is then cached as never, and this thread's capture
/// misses its events (seen: a sweep's line logged after the capture started was missing about
/// once in seven runs). A second dispatcher, registered once and kept for the whole process,
/// makes tracing ask every live dispatcher, the captures included.
fn keep_interest_shared() {
    static KEEPER: OnceLock<tracing::Dispatch> = OnceLock::new();
    KEEPER.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

impl LogCapture {
    pub fn start(filter: &str, format: LogFormat) -> Self {
        keep_interest_shared();
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let builder = tracing_subscriber::fmt()
            .with_env_filter(format!("{filter},fake_linkedin=off"))
            .with_ansi(false)
            .with_writer(move || writer.clone());
        let guard = match format {
            LogFormat::Human => tracing::subscriber::set_default(builder.finish()),
            LogFormat::Json => tracing::subscriber::set_default(builder.json().finish()),
        };
        Self::ask_call_sites_again();
        Self {
            buffer,
            _guard: guard,
        }
    }

    /// Another test running at the same time may have cached a call site's interest before
    /// this subscriber existed: call this again once the app under test is up.
    pub fn ask_call_sites_again() {
        tracing::callsite::rebuild_interest_cache();
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.buffer.text.lock().unwrap().clone()).unwrap()
    }

    /// A background worker's log, as an operator reads it: the passes that did work are
    /// logged with their `field` counts adding up to `expected`, and a pass that finds nothing
    /// is not logged. The idle check is left out on SQLite, which runs its statements on a
    /// thread of its own, whose logs this capture of the test's thread does not see.
    pub async fn assert_worker_passes(
        &self,
        backend: Backend,
        message: &str,
        field: &str,
        expected: u64,
        table: &str,
    ) {
        self.wait_until(
            &format!("{message} lines adding up to {field} {expected}"),
            |text| counted(text, message, field) == expected,
        )
        .await;
        if backend != Backend::Sqlite {
            self.assert_idle_passes_unlogged(table, message).await;
        }
    }

    /// A worker's pass that finds nothing is not logged: waits until the worker has read
    /// `table` twice more (its claims, as sqlx logs them: a JSON capture with
    /// `sqlx::query=debug`), then checks that no new `message` line came meanwhile.
    pub async fn assert_idle_passes_unlogged(&self, table: &str, message: &str) {
        let passes = times_logged(&self.text(), message);
        let looked = statements_on(&self.text(), table);
        self.wait_until("two more looks at the outbox", |text| {
            statements_on(text, table) >= looked + 2
        })
        .await;
        assert_eq!(
            times_logged(&self.text(), message),
            passes,
            "an idle pass was logged"
        );
    }

    /// Completes once what was logged satisfies `done`: each write is a signal, so a test
    /// waits for a line a background task writes without sleeping. Fails after 30 s.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) {
        let mut writes = self.buffer.writes.subscribe();
        let wait = async {
            while !done(&self.text()) {
                writes.changed().await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("not logged in time: {what}; logged:\n{}", self.text()));
    }
}

/// The events of a `LogFormat::Json` capture, one per line.
pub fn json_events(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect()
}

/// The sum of the numeric `field` over the events whose message is `message` (JSON capture).
pub fn counted(text: &str, message: &str, field: &str) -> u64 {
    json_events(text)
        .iter()
        .filter(|event| event["fields"]["message"] == message)
        .map(|event| event["fields"][field].as_u64().expect("a count"))
        .sum()
}

/// How many events have `message` (JSON capture).
pub fn times_logged(text: &str, message: &str) -> usize {
    json_events(text)
        .iter()
        .filter(|event| event["fields"]["message"] == message)
        .count()
}

/// How many statements sqlx ran that name `table` (JSON capture with `sqlx::query=debug`):
/// a sign, which the test can wait for, that a worker has looked at its table.
pub fn statements_on(text: &str, table: &str) -> usize {
    json_events(text)
        .iter()
        .filter(|event| event["target"] == "sqlx::query")
        .filter(|event| {
            event["fields"]["db.statement"]
                .as_str()
                .is_some_and(|sql| sql.contains(table))
        })
        .count()
}

#[derive(Clone)]
struct Buffer {
    text: Arc<Mutex<Vec<u8>>>,
    writes: watch::Sender<u64>,
}

impl Default for Buffer {
    fn default() -> Self {
        Self {
            text: Arc::default(),
            writes: watch::Sender::new(0),
        }
    }
}

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.lock().unwrap().extend_from_slice(buf);
        self.writes.send_modify(|n| *n += 1);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
