//! How fast `tokenkeeper import --no-introspect` writes: generates N rows of CSV on the fly
//! (no file: the disk is for the databases), imports them into a fresh database of each
//! backend through the same code as the command, and prints rows per second. See
//! docs/benchmarks.md, "Import". The servers are those the tests use (TOKENKEEPER_TEST_*_URL).

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Parser, ValueEnum};
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::config::Config;
use tokenkeeper::domain::SystemClock;
use tokenkeeper::import::{rows, Format, ImportOptions, Importer, TokenLookups};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum BackendArg {
    Sqlite,
    Postgres,
    Mysql,
    All,
}

#[derive(Debug, Parser)]
#[command(about = "Benchmark of tokenkeeper import --no-introspect")]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    #[arg(long, value_enum, default_value = "all")]
    backend: BackendArg,
    /// Characters of each generated access and refresh token (LinkedIn's are about 500).
    #[arg(long, default_value_t = 150)]
    token_len: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backends = match args.backend {
        BackendArg::Sqlite => vec![BackendArg::Sqlite],
        BackendArg::Postgres => vec![BackendArg::Postgres],
        BackendArg::Mysql => vec![BackendArg::Mysql],
        BackendArg::All => vec![BackendArg::Sqlite, BackendArg::Postgres, BackendArg::Mysql],
    };
    println!("| backend | rows | token length | import (s) | rows/s |");
    println!("|---|---|---|---|---|");
    for backend in backends {
        let (seconds, imported) = run_one(&args, backend).await?;
        println!(
            "| {backend:?} | {imported} | {} | {seconds:.1} | {:.0} |",
            args.token_len,
            imported as f64 / seconds
        );
    }
    Ok(())
}

async fn run_one(args: &Args, backend: BackendArg) -> anyhow::Result<(f64, u64)> {
    let which = match backend {
        BackendArg::Sqlite => Backend::Sqlite,
        BackendArg::Postgres => Backend::Postgres,
        _ => Backend::MySql,
    };
    // Kept until the end of the run: dropping it drops the database.
    let db = TestDatabase::create(which)
        .await
        .context("the database server is unreachable")?;
    let url = db.url.clone();
    let config = config(&url)?;
    let store = tokenkeeper::store::connect(&url, config.encryption.cipher()?).await?;
    store.migrate().await?;
    let importer = Importer {
        store: store.clone(),
        lookups: TokenLookups {
            providers: tokenkeeper::linkedin::LinkedInClient::new(config.linkedin.clone())?.into(),
            pacing: Arc::new(tokenkeeper::refresh::Pacing::new(
                config.refresh.rate_per_second,
            )),
            settings: config.refresh.clone(),
        },
        notify: config.notify.clone(),
        clock: Arc::new(SystemClock),
    };
    let generated = GeneratedCsv::new(args.rows, args.token_len);
    let rows = rows(generated, Format::Csv)?;
    let started = Instant::now();
    let options = ImportOptions {
        introspect: false,
        dry_run: false,
    };
    let report = importer.import_rows(rows, options, &mut |_| {}).await;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.stopped.is_none() && report.failed == 0,
        "the import did not go through: {report:?}"
    );
    anyhow::ensure!(
        store.count_accounts().await? as u64 == args.rows,
        "not every row was stored"
    );
    drop(store);
    drop(db);
    Ok((seconds, report.created))
}

fn config(url: &str) -> anyhow::Result<Config> {
    let vars = [
        ("DATABASE_URL", url.to_owned()),
        ("LINKEDIN__CLIENT_ID", "bench".to_owned()),
        ("LINKEDIN__CLIENT_SECRET", "bench-secret".to_owned()),
        (
            "CONNECT__SIGNING_KEY",
            "bench-signing-key-0123456789abcdef0123".to_owned(),
        ),
        // Imported tokens are sealed as in production: the cost is part of the figure.
        (
            "ENCRYPTION__KEYS",
            "bench-import:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]
    .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v));
    Ok(Config::load_from(None, vars)?)
}

/// CSV rows made as they are read: a header, then one account per line, every fourth one
/// without a refresh token (an app without partner access).
struct GeneratedCsv {
    next: u64,
    total: u64,
    token: String,
    now: chrono::DateTime<Utc>,
    line: Vec<u8>,
    at: usize,
}

impl GeneratedCsv {
    fn new(total: u64, token_len: usize) -> Self {
        let header = tokenkeeper::import::COLUMNS.join(",") + "\n";
        Self {
            next: 0,
            total,
            token: "x".repeat(token_len.saturating_sub(16)),
            now: Utc::now(),
            line: header.into_bytes(),
            at: 0,
        }
    }

    fn fill(&mut self) {
        let i = self.next;
        self.next += 1;
        // Links spread over the last 59 days: some accounts are due, most are not.
        let linked = self.now - Duration::minutes((i % (60 * 24 * 59)) as i64);
        let (refresh_token, refresh_expires) = if i % 4 == 3 {
            (String::new(), String::new())
        } else {
            (
                format!("AQR{i:013}{}", self.token),
                (linked + Duration::days(365)).to_rfc3339(),
            )
        };
        self.line = format!(
            "bench-{i},user{i}@example.com,AQV{i:013}{},{refresh_token},{},{refresh_expires},{},member-{i},Member {i},openid profile email w_member_social\n",
            self.token,
            (linked + Duration::days(60)).to_rfc3339(),
            linked.to_rfc3339(),
        )
        .into_bytes();
        self.at = 0;
    }
}

impl Read for GeneratedCsv {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.line.len() {
            if self.next == self.total {
                return Ok(0);
            }
            self.fill();
        }
        let n = buf.len().min(self.line.len() - self.at);
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
