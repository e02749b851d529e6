//! Token reads: what the host app does before each LinkedIn call. Seeds N accounts, starts the
//! real `tokenkeeper serve` (the release binary beside this one) in a process of its own, and
//! loads `GET /api/v1/accounts/{user_id}` at C connections for a fixed time, random accounts,
//! keep-alive. In the same run and at the same concurrency, it measures the ceilings: the
//! server's `/healthz` (the HTTP stack alone, no database) and PostgreSQL's own point-select
//! rate (`pgbench -S`, prepared statements, on a pgbench database of its own); on MariaDB also
//! MariaDB's own (`mariadb_ceiling`).

use anyhow::Context;
use std::time::{Duration, Instant};
use test_databases::{Backend, TestDatabase};
use tokio::process::{Child, Command};

const API_KEY: &str = "bench-api-key-0123456789abcdef";
const WARM_UP: Duration = Duration::from_secs(2);

/// Requests per second and latency percentiles of one load.
pub struct Load {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Every request answered, the warm-up's included.
    pub answered: usize,
}

pub struct Settings {
    pub connections: usize,
    pub seconds: u64,
}

/// What one backend and size gives: the main table's row, one of what encryption costs those
/// reads, and on MariaDB one against its own point-select rate.
pub struct Rows {
    pub row: String,
    pub encryption: Option<String>,
    pub own_ceiling: Option<String>,
}

pub const OWN_CEILING_HEADER: &str = "| accounts | connections | reads/s | sysbench point selects/s | reads / sysbench | InnoDB buffer pool (MB) | accounts table (MB) |\n|---|---|---|---|---|---|---|";

/// One table row: `| backend | accounts | reads/s | p50 | p99 | healthz/s | ... |`, and the
/// others of `Rows`.
pub async fn run_one(backend: Backend, n: usize, settings: &Settings) -> anyhow::Result<Rows> {
    let Some(db) = TestDatabase::create(backend).await else {
        return Ok(Rows {
            row: format!("| {backend:?} | {n} | skipped: no server |"),
            encryption: None,
            own_ceiling: None,
        });
    };
    let cipher = crate::rotation::cipher(crate::rotation::OLD_KEY);
    let store = tokenkeeper::store::connect(&db.url, cipher.clone()).await?;
    store.migrate().await?;
    drop(store);
    // Tokens fresh at the real time the server reads them: a read of a token near its end
    // renews it at the network first (refresh on read), which is not the path measured here.
    crate::seed::accounts(&db.url, n, 0, chrono::Utc::now(), &cipher)
        .await
        .context("seeding")?;
    let server = Server::start(&db.url).await?;

    let server_cpu_before = crate::cpu::process_seconds(server.pid);
    let client_cpu_before = crate::cpu::process_seconds(None);
    let reads = load(
        settings,
        &server.host,
        |i| format!("/api/v1/accounts/bench-{i}"),
        Some(API_KEY),
        n,
    )
    .await?;
    let client_cpu = crate::cpu::process_seconds(None)
        .zip(client_cpu_before)
        .map(|(after, before)| after - before);
    let server_cpu = crate::cpu::process_seconds(server.pid)
        .zip(server_cpu_before)
        .map(|(after, before)| after - before);
    let health = load(settings, &server.host, |_| "/healthz".to_owned(), None, n).await?;
    drop(server);
    let pgbench = pgbench_select(settings).await?;
    let own_ceiling = match backend {
        Backend::MySql => {
            let (buffer_pool, table) =
                crate::mariadb_ceiling::buffer_pool_and_table_mb(&db.url).await?;
            Some(
                match crate::mariadb_ceiling::point_selects_per_second(
                    settings.connections,
                    settings.seconds,
                )
                .await
                {
                    Ok(own) => format!(
                        "| {n} | {} | {:.0} | {own:.0} | {:.2} | {buffer_pool:.0} | {table:.0} |",
                        settings.connections,
                        reads.per_second,
                        reads.per_second / own
                    ),
                    Err(why) => format!(
                        "| {n} | {} | not measured: {why} | | | {buffer_pool:.0} | {table:.0} |",
                        settings.connections
                    ),
                },
            )
        }
        _ => None,
    };
    // Each read opens the account's two tokens.
    let encryption = crate::cipher_cost::read_row(
        &format!("| {backend:?} | {n}"),
        &crate::cipher_cost::measure(&cipher, 100_000)?,
        server_cpu,
        reads.answered,
    );
    // The load's own CPU per read (this process; its other tasks are idle meanwhile).
    let client_per_read = client_cpu.map_or(f64::NAN, |s| s * 1e6 / reads.answered as f64);
    let row = format!(
        "| {backend:?} | {n} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {pgbench:.0} | {:.2} | {:.2} | {client_per_read:.0} |",
        settings.connections,
        reads.per_second,
        reads.p50_ms,
        reads.p99_ms,
        health.per_second,
        health.p99_ms,
        reads.per_second / pgbench,
        reads.per_second / health.per_second,
    );
    Ok(Rows {
        row,
        encryption: Some(encryption),
        own_ceiling,
    })
}

pub const HEADER: &str = "| backend | accounts | connections | reads/s | p50 (ms) | p99 (ms) | /healthz/s | /healthz p99 (ms) | pgbench -S tps | reads / pgbench -S | reads / healthz | load client CPU per read (µs) |\n|---|---|---|---|---|---|---|---|---|---|---|---|";

/// `tokenkeeper serve` over the seeded database, on a free port, logging warnings only so that
/// the terminal is not what is measured.
struct Server {
    /// `127.0.0.1:port`.
    host: String,
    pid: Option<u32>,
    _child: Child,
}

impl Server {
    async fn start(database_url: &str) -> anyhow::Result<Self> {
        let binary = std::env::current_exe()?.with_file_name("tokenkeeper");
        anyhow::ensure!(
            binary.exists(),
            "{} is missing: build it first (cargo build --release -p tokenkeeper)",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let defaults = fake_linkedin::FakeConfig::default();
        let child = Command::new(binary)
            .arg("serve")
            .env("TOKENKEEPER_DATABASE_URL", database_url)
            .env("TOKENKEEPER_HTTP__BIND", format!("127.0.0.1:{port}"))
            .env("TOKENKEEPER_API__API_KEY", API_KEY)
            // The load client is one address holding every connection.
            .env("TOKENKEEPER_HTTP__MAX_CONNECTIONS_PER_CLIENT", "100000")
            // Reads open sealed tokens, as in production.
            .env("TOKENKEEPER_ENCRYPTION__KEYS", crate::rotation::OLD_KEY)
            .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", defaults.client_id)
            .env(
                "TOKENKEEPER_LINKEDIN__CLIENT_SECRET",
                defaults.client_secret,
            )
            .env(
                "TOKENKEEPER_CONNECT__SIGNING_KEY",
                "bench-signing-key-0123456789abcdef0123",
            )
            .env("TOKENKEEPER_SCHEDULE__ENABLED", "false")
            .env("TOKENKEEPER_LOG__LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start tokenkeeper serve")?;
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(answer) = client.get(format!("{base}/healthz")).send().await {
                if answer.status().is_success() {
                    break;
                }
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "tokenkeeper serve did not answer /healthz within a minute"
            );
            // Waiting for a child process to listen: there is no signal to wait on.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            host: format!("127.0.0.1:{port}"),
            pid: child.id(),
            _child: child,
        })
    }
}

/// C connections, each sending its next request when the last was answered, for the set
/// time after a warm-up; every answer must be a 200.
async fn load(
    settings: &Settings,
    host: &str,
    path_of: impl Fn(usize) -> String + Send + Sync + 'static + Clone,
    bearer: Option<&'static str>,
    accounts: usize,
) -> anyhow::Result<Load> {
    let warm_until = Instant::now() + WARM_UP;
    let end = warm_until + Duration::from_secs(settings.seconds);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..settings.connections {
        let path_of = path_of.clone();
        let mut connection = crate::load_client::Connection::open(host).await?;
        workers.spawn(async move {
            // xorshift: a random spread of accounts without a dependency.
            let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1).wrapping_mul(7919);
            let mut latencies = Vec::with_capacity(1 << 16);
            let mut answered = 0;
            loop {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let path = path_of((state % accounts.max(1) as u64) as usize);
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let status = connection.get(&path, bearer).await?;
                anyhow::ensure!(status == 200, "a read answered {status}");
                answered += 1;
                if sent >= warm_until {
                    latencies.push(sent.elapsed().as_micros() as u32);
                }
            }
            Ok::<_, anyhow::Error>((latencies, answered))
        });
    }
    let mut all = Vec::new();
    let mut answered = 0;
    while let Some(done) = workers.join_next().await {
        let (latencies, count) = done??;
        all.extend(latencies);
        answered += count;
    }
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)] as f64 / 1000.0;
    Ok(Load {
        per_second: all.len() as f64 / settings.seconds as f64,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        answered,
    })
}

/// PostgreSQL's point-select rate at the same concurrency: `pgbench -S` (prepared), scale 10,
/// on a database of its own that is dropped afterwards.
async fn pgbench_select(settings: &Settings) -> anyhow::Result<f64> {
    let admin = std::env::var("TOKENKEEPER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let pool = sqlx::PgPool::connect(&admin).await?;
    let name = "tokenkeeper_bench_pgbench";
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&pool)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await?;
    let server = admin.split('?').next().unwrap_or(&admin);
    let server = server.rsplit_once('/').map_or(server, |(server, _)| server);
    let url = format!("{server}/{name}");
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &url])
        .output()
        .await
        .context("pgbench is not installed (apt-get install postgresql-client)")?;
    anyhow::ensure!(init.status.success(), "pgbench -i failed");
    let run = Command::new("pgbench")
        .args([
            "-S",
            "-n",
            "-M",
            "prepared",
            "-c",
            &settings.connections.to_string(),
            "-j",
            "2",
            "-T",
            &settings.seconds.to_string(),
            &url,
        ])
        .output()
        .await?;
    anyhow::ensure!(run.status.success(), "pgbench -S failed");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&pool)
        .await?;
    let out = String::from_utf8_lossy(&run.stdout);
    out.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no tps in pgbench's output: {out}"))
}
