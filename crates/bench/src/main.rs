//! How the refresh sweep scales. Seeds N accounts (a chosen number of them due) into SQLite,
//! PostgreSQL or MariaDB, runs the real sweep against the fake LinkedIn in a separate process,
//! and reports the sweep's numbers next to ceilings measured in the same run; with
//! `--providers`, over a mix of networks, one fake process each (`mix.rs`). See
//! docs/benchmarks.md.

mod ceilings;
mod cipher_cost;
mod claim_reads;
mod cpu;
mod fake_process;
mod load_client;
mod mariadb_ceiling;
mod memory;
mod mix;
mod reads;
mod rotation;
mod seed;
mod targets;
mod year;

use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::{Parser, ValueEnum};
use std::sync::Arc;
use std::time::Instant;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::config::Config;
use tokenkeeper::domain::SystemClock;
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::refresh::{EngineStores, RefreshEngine, SweepOptions};
use tokenkeeper::store::{self, Lease};
use tokenkeeper::workers::Housekeeping;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum BackendArg {
    Sqlite,
    Postgres,
    /// MariaDB 10.6+ or MySQL 8 (`TOKENKEEPER_TEST_MYSQL_URL`).
    Mysql,
    /// SQLite and PostgreSQL.
    Both,
    /// All three.
    All,
}

#[derive(Debug, Parser)]
#[command(about = "Benchmark of tokenkeeper's refresh sweep")]
struct Args {
    /// Run a fake network (used internally: the benchmark starts itself in this mode).
    #[arg(long, hide = true)]
    fake: bool,
    /// The network the fake plays (with --fake).
    #[arg(long, hide = true, default_value = "linkedin")]
    fake_network: String,
    /// Sweep a mix of providers instead of LinkedIn alone: each provider's share of the
    /// accounts (and of the due ones) in whole percents adding up to 100, of linkedin, x,
    /// google, tiktok, instagram, threads and facebook. Each network's fake runs in its own
    /// process with --latency-ms; the run fails unless every due account was refreshed, with
    /// one refresh call each (see docs/benchmarks.md, A sweep over a mix of providers).
    #[arg(long, value_name = "NAME=PERCENT,...")]
    providers: Option<mix::Mix>,
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendArg,
    /// Table sizes to run, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    accounts: Vec<usize>,
    /// How many of them are due.
    #[arg(long, default_value_t = 1000)]
    due: usize,
    /// Latency the fake LinkedIn adds to each token call.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Refreshes in flight (refresh.concurrency).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Token calls per second (refresh.rate_per_second); the default leaves the sweep unpaced.
    #[arg(long, default_value_t = UNPACED)]
    rate_per_second: u32,
    /// Small sizes, seconds: keeps the benchmark from rotting in CI and fails when a target it
    /// can check at that size is missed (20,000 accounts, 100 due, 200 ms, C = 16; with
    /// --providers: 2,000 accounts, 100 due, 100 ms, C = 16).
    #[arg(long)]
    smoke: bool,
    /// Instead of the sweep: time `keys rotate` over every seeded row (sealed under one key,
    /// moved to another), in batches of this many rows.
    #[arg(long, value_name = "BATCH")]
    rotate: Option<i64>,
    /// Measure token reads (`GET /api/v1/accounts/{user_id}`) instead of the sweep, against
    /// `/healthz` and `pgbench -S`, and on MariaDB sysbench's point selects (see docs/benchmarks.md,
    /// Token reads).
    #[arg(long)]
    reads: bool,
    /// Connections of the read load (with --reads).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds each read load runs, after a 2 s warm-up (with --reads).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Instead of the sweep: a simulated year of a fleet against the whole service (see
    /// docs/benchmarks.md, "A year in a box").
    #[arg(long)]
    year: bool,
    #[command(flatten)]
    year_args: year::YearArgs,
}

/// The highest `refresh.rate_per_second` accepted: in effect, no pacing.
const UNPACED: u32 = 100_000;

fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The simulated year re-executes this binary as its service instances, fake networks and
    // tokenkeeper's command line.
    let mut argv = std::env::args().skip(1);
    match argv.next().as_deref() {
        Some("year-instance") => return year::instance::serve_child().await,
        Some("year-fake") => return year::world::serve_fake(argv).await,
        Some("year-cli") => {
            use tokenkeeper::cli::Cli;
            let cli = Cli::parse_from(std::iter::once("tokenkeeper".to_owned()).chain(argv));
            return tokenkeeper::cli::run(cli).await;
        }
        _ => {}
    }
    let mut args = Args::parse();
    if args.year {
        return year::run(args.year_args).await;
    }
    if args.fake {
        return fake_process::serve(&args.fake_network, args.latency_ms).await;
    }
    if args.smoke && args.providers.is_some() {
        // Every share gets due accounts (1% of 100 due is one), and the seeding of a debug
        // build stays short.
        args.accounts = vec![2_000];
        args.due = 100;
        args.latency_ms = 100;
        args.concurrency = 16;
    } else if args.smoke {
        // Enough rows that PostgreSQL's planner reads the due rows by index (at 5,000 it joins
        // back through a whole-table scan, which it judges cheaper there), and LinkedIn's
        // latency, so that refreshing in parallel shows against C / L.
        args.accounts = vec![20_000];
        args.due = 100;
        args.latency_ms = 200;
        args.concurrency = 16;
    }
    let backends = match args.backend {
        BackendArg::Sqlite => vec![Backend::Sqlite],
        BackendArg::Postgres => vec![Backend::Postgres],
        BackendArg::Mysql => vec![Backend::MySql],
        BackendArg::Both => vec![Backend::Sqlite, Backend::Postgres],
        BackendArg::All => Backend::ALL.to_vec(),
    };
    if let Some(batch) = args.rotate {
        return rotate_tables(&args, &backends, batch).await;
    }
    if let Some(mix) = &args.providers {
        return mix::run(&args, mix, &backends).await;
    }
    if args.reads {
        let settings = reads::Settings {
            connections: args.connections,
            seconds: args.seconds,
        };
        println!("{}", reads::HEADER);
        let (mut encryption_rows, mut own_ceiling_rows) = (Vec::new(), Vec::new());
        for backend in backends {
            for &n in &args.accounts {
                let rows = reads::run_one(backend, n, &settings).await?;
                println!("{}", rows.row);
                encryption_rows.extend(rows.encryption);
                own_ceiling_rows.extend(rows.own_ceiling);
            }
        }
        if !own_ceiling_rows.is_empty() {
            println!("\nMariaDB's reads against its own point-select rate at the same concurrency (sysbench oltp_point_select, prepared, 1,000,000 rows):");
            println!("{}", reads::OWN_CEILING_HEADER);
            for row in own_ceiling_rows {
                println!("{row}");
            }
        }
        println!("\nWhat encryption costs the reads (the server process's CPU time, the database server's left out, so the share is an upper bound):");
        println!("{}", cipher_cost::READ_HEADER);
        for row in encryption_rows {
            println!("{row}");
        }
        return Ok(());
    }
    let fake = fake_process::FakeProcess::start(args.latency_ms).await?;
    println!(
        "fake LinkedIn (separate process) at {}, latency {} ms, concurrency {}, batch {}, rate {}/s",
        fake.base_url, args.latency_ms, args.concurrency, args.batch_size, args.rate_per_second
    );
    println!(
        "| backend | accounts | due | claim 1000 (ms) | claim reads | sweep (s) | refreshes/s | fake ceiling/s | db write ceiling/s | achieved / min ceiling | C/L (or rate) ceiling/s | achieved / (C/L) | peak RSS during sweep (MB) | machine CPU busy during sweep (%) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut missed = Vec::new();
    let mut encryption_rows = Vec::new();
    for backend in backends {
        for &n in &args.accounts {
            let (row, misses, encryption) = run_one(&args, backend, n, &fake).await?;
            println!("{row}");
            encryption_rows.extend(encryption);
            missed.extend(
                misses
                    .into_iter()
                    .map(|m| format!("{backend:?}, {n} accounts: {m}")),
            );
        }
    }
    println!("\nWhat encryption costs the sweep (this process's CPU time, the fake's and the database server's left out, so the share is an upper bound):");
    println!("{}", cipher_cost::SWEEP_HEADER);
    for row in encryption_rows {
        println!("{row}");
    }
    anyhow::ensure!(
        missed.is_empty(),
        "{} benchmark target(s) missed (see docs/benchmarks.md, Targets):\n  {}",
        missed.len(),
        missed.join("\n  ")
    );
    Ok(())
}

/// `keys rotate` over each table size: one row a line, as docs/benchmarks.md shows them.
async fn rotate_tables(args: &Args, backends: &[Backend], batch: i64) -> anyhow::Result<()> {
    println!("| backend | accounts | batch | rotate (s) | rows/s | rotated | other |");
    println!("|---|---|---|---|---|---|---|");
    let cipher = rotation::cipher(rotation::OLD_KEY);
    for &backend in backends {
        for &n in &args.accounts {
            let Some(db) = TestDatabase::create(backend).await else {
                println!("| {backend:?} | {n} | skipped: no server |");
                continue;
            };
            store::migrate_database(&db.url).await?;
            seed::accounts(&db.url, n, args.due.min(n), as_of(), &cipher)
                .await
                .context("seeding")?;
            let measured = rotation::measure(&db.url, n as u64, batch).await?;
            anyhow::ensure!(
                measured.rotated == n as u64,
                "the rotation must move every row: it moved {} of {n}",
                measured.rotated
            );
            println!(
                "| {backend:?} | {n} | {batch} | {:.1} | {:.0} | {} | {} |",
                measured.seconds,
                n as f64 / measured.seconds,
                measured.rotated,
                measured.other
            );
        }
    }
    Ok(())
}

async fn run_one(
    args: &Args,
    backend: Backend,
    n: usize,
    fake: &fake_process::FakeProcess,
) -> anyhow::Result<(String, Vec<String>, Option<String>)> {
    let Some(db) = TestDatabase::create(backend).await else {
        return Ok((
            format!("| {backend:?} | {n} | skipped: no server |"),
            Vec::new(),
            None,
        ));
    };
    let config = config_for(&db.url, &fake.base_url, args)?;
    let cipher = config.encryption.cipher()?;
    let store = store::connect(&db.url, cipher.clone()).await?;
    store.migrate().await?;
    let due = args.due.min(n);
    seed::accounts(&db.url, n, due, as_of(), &cipher)
        .await
        .context("seeding")?;

    // 1. Claiming: the cost must follow the number of due accounts, not the table size.
    let claim_ms = {
        let mut samples = Vec::new();
        for _ in 0..3 {
            let lease = Lease {
                holder: "bench".into(),
                now: Utc::now(),
                until: Utc::now() + Duration::minutes(5),
            };
            let started = Instant::now();
            let claimed = store.claim_due(as_of(), &lease, 1000).await?.accounts;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(
                claimed.len() == due.min(1000),
                "claiming must take every due account up to 1,000: it took {} of {due}",
                claimed.len()
            );
            seed::release_claims(&db.url).await?;
        }
        samples.sort_by(f64::total_cmp);
        samples[1]
    };
    let claim_reads = claim_reads::measure(&db.url, as_of(), 1000).await?;

    // 2. The sweep, end to end, on its own memory peak.
    let engine = RefreshEngine::new(
        EngineStores::of(&store),
        LinkedInClient::new(config.linkedin.clone())?,
        Arc::new(SystemClock),
        config.refresh.clone(),
        config.notify.clone(),
        Housekeeping::of(&store, &config),
    );
    let calls_before = fake.token_calls().await?;
    memory::reset_peak();
    let cpu_before = cpu::sample();
    let process_before = cpu::process_seconds(None);
    let started = Instant::now();
    let report = engine
        .sweep(SweepOptions {
            as_of: Some(as_of()),
            ..SweepOptions::default()
        })
        .await?;
    let sweep_secs = started.elapsed().as_secs_f64();
    let cpu_busy = cpu::busy_percent(cpu_before, cpu::sample());
    let process_cpu = cpu::process_seconds(None)
        .zip(process_before)
        .map(|(a, b)| a - b);
    let peak_mb = memory::peak_rss_mb();
    let token_calls = fake.token_calls().await? - calls_before;
    let (left_unrefreshed, replaced) = seed::sweep_outcome(&db.url, as_of()).await?;
    let achieved = due as f64 / sweep_secs;

    // 3. Ceilings, measured now on the same machine: the fake's token endpoint alone, and the
    //    database's write-back statement alone, each at the same concurrency.
    let calls = if args.smoke {
        due
    } else {
        (due * 2).clamp(200, 20_000)
    };
    let fake_ceiling = ceilings::token_endpoint(&config, args.concurrency, calls).await?;
    let db_ceiling =
        ceilings::write_back(store.clone(), &config, args.concurrency, due.min(5000)).await?;
    let lower = fake_ceiling.min(db_ceiling);
    // With latency L, C calls in flight cannot exceed C / L; pacing caps the sweep at its rate.
    let by_latency =
        (args.latency_ms > 0).then(|| args.concurrency as f64 / (args.latency_ms as f64 / 1000.0));
    let by_rate = (args.rate_per_second < UNPACED).then_some(args.rate_per_second as f64);
    let latency_ceiling = match (by_latency, by_rate) {
        (Some(l), Some(r)) => Some(l.min(r)),
        (l, r) => l.or(r),
    };
    let misses = targets::misses(&targets::Observed {
        due,
        accounts: n,
        refreshed: report.counts.refreshed,
        token_calls,
        left_unrefreshed,
        replaced,
        claim_reads,
        peak_rss_mb: peak_mb,
        latency_ratio: latency_ceiling.map(|c| achieved / c),
    });
    let claim_reads = match claim_reads {
        targets::ClaimReads::Rows(rows) => format!("{rows} rows"),
        targets::ClaimReads::FullScan(false) => "by index".into(),
        targets::ClaimReads::FullScan(true) => "whole table".into(),
    };
    let row = format!(
        "| {backend:?} | {n} | {due} | {claim_ms:.1} | {claim_reads} | {sweep_secs:.2} | {achieved:.0} | {fake_ceiling:.0} | {db_ceiling:.0} | {:.2} | {} | {} | {peak_mb:.1} | {cpu_busy:.0} |",
        achieved / lower,
        latency_ceiling.map_or("-".into(), |c| format!("{c:.0}")),
        latency_ceiling.map_or("-".into(), |c| format!("{:.2}", achieved / c)),
    );
    // Each refresh opens the two tokens it claims and seals the two it writes back.
    let encryption = cipher_cost::sweep_row(
        &format!("| {backend:?} | {n} | {}", report.counts.refreshed),
        // A debug build (the smoke run's) seals about 200 times slower: fewer rounds there.
        &cipher_cost::measure(&cipher, if args.smoke { 200 } else { 100_000 })?,
        process_cpu,
        report.counts.refreshed as usize,
    );
    Ok((row, misses, Some(encryption)))
}

fn config_for(database_url: &str, fake_url: &str, args: &Args) -> anyhow::Result<Config> {
    config_with(database_url, fake_url, args, Vec::new())
}

/// The configuration the benchmark runs the service with, LinkedIn at `fake_url`, plus
/// `extra` settings (without the `TOKENKEEPER_` prefix), such as `[providers.NAME]` keys.
fn config_with(
    database_url: &str,
    fake_url: &str,
    args: &Args,
    extra: Vec<(String, String)>,
) -> anyhow::Result<Config> {
    let defaults = fake_linkedin::FakeConfig::default();
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("LINKEDIN__CLIENT_ID", defaults.client_id),
        ("LINKEDIN__CLIENT_SECRET", defaults.client_secret),
        (
            "LINKEDIN__TOKEN_URL",
            format!("{fake_url}/oauth/v2/accessToken"),
        ),
        (
            "CONNECT__SIGNING_KEY",
            "bench-signing-key-0123456789abcdef0123".into(),
        ),
        ("REFRESH__CONCURRENCY", args.concurrency.to_string()),
        ("REFRESH__BATCH_SIZE", args.batch_size.to_string()),
        ("REFRESH__RATE_PER_SECOND", args.rate_per_second.to_string()),
        ("REFRESH__BREAKER_WINDOW", "1000".into()),
        // The key the seeded rows are sealed under.
        ("ENCRYPTION__KEYS", rotation::OLD_KEY.to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .into_iter()
    .chain(extra)
    .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v));
    Ok(Config::load_from(None, vars)?)
}
