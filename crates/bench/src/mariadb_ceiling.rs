//! MariaDB's own point-select rate, the fair ceiling for token reads on MariaDB (PostgreSQL's
//! `pgbench -S` measures another server): sysbench's `oltp_point_select`, prepared statements,
//! one table of a million rows (as many as pgbench's scale 10), at the read load's
//! concurrency, on a database of its own that is dropped afterwards.

use anyhow::Context;
use tokio::process::Command;

const DATABASE: &str = "tokenkeeper_bench_sysbench";
const ROWS: &str = "1000000";

/// Point selects per second, or why there is no figure (sysbench missing, say): the read
/// rows stand without it.
pub async fn point_selects_per_second(connections: usize, seconds: u64) -> Result<f64, String> {
    measure(connections, seconds)
        .await
        .map_err(|e| format!("{e:#}"))
}

/// InnoDB's buffer pool and the accounts table with its indexes, in MB, on the database at
/// `url`, as `tokenkeeper doctor` reads them. Reads of a table larger than the pool go to the
/// disk (MariaDB opens its files with `O_DIRECT`, so the page cache does not hold them): its
/// default 128 MB holds about 250,000 accounts, which is why the reads table shows both.
pub async fn buffer_pool_and_table_mb(url: &str) -> anyhow::Result<(f64, f64)> {
    // ANALYZE first: the sizes in information_schema are estimates refreshed by it.
    let pool = sqlx::MySqlPool::connect(url).await?;
    sqlx::query("ANALYZE TABLE social_network")
        .execute(&pool)
        .await?;
    let room = tokenkeeper::store::BareDatabase::open(url)
        .await?
        .innodb_room()
        .await?
        .context("not a MariaDB or MySQL database")?;
    let mb = |bytes: u64| bytes as f64 / 1_048_576.0;
    Ok((mb(room.buffer_pool), mb(room.accounts_table)))
}

async fn measure(connections: usize, seconds: u64) -> anyhow::Result<f64> {
    let admin = std::env::var("TOKENKEEPER_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".to_owned());
    let url = url::Url::parse(&admin).context("TOKENKEEPER_TEST_MYSQL_URL")?;
    let pool = sqlx::MySqlPool::connect(&admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {DATABASE}"))
        .execute(&pool)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
        .execute(&pool)
        .await?;
    let mut common = vec![
        "oltp_point_select".to_owned(),
        "--db-driver=mysql".to_owned(),
        format!("--mysql-host={}", url.host_str().unwrap_or("127.0.0.1")),
        format!("--mysql-port={}", url.port().unwrap_or(3306)),
        format!("--mysql-user={}", url.username()),
        format!("--mysql-db={DATABASE}"),
        "--tables=1".to_owned(),
        format!("--table-size={ROWS}"),
    ];
    if let Some(password) = url.password() {
        common.push(format!("--mysql-password={password}"));
    }
    let prepare = Command::new("sysbench")
        .args(&common)
        .arg("prepare")
        .output()
        .await
        .context("sysbench is not installed (apt-get install sysbench)")?;
    anyhow::ensure!(
        prepare.status.success(),
        "sysbench prepare failed: {}",
        last_line(&prepare.stderr)
    );
    let run = Command::new("sysbench")
        .args(&common)
        .arg(format!("--threads={connections}"))
        .arg(format!("--time={seconds}"))
        .arg("run")
        .output()
        .await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {DATABASE}"))
        .execute(&pool)
        .await?;
    anyhow::ensure!(
        run.status.success(),
        "sysbench run failed: {}",
        last_line(&run.stderr)
    );
    let out = String::from_utf8_lossy(&run.stdout);
    // "    queries:                             123456 (4115.20 per sec.)"
    out.lines()
        .find(|l| l.trim_start().starts_with("queries:"))
        .and_then(|l| l.split_once('(')?.1.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no queries per second in sysbench's output: {out}"))
}

/// What sysbench said last on stderr: why it stopped, without pages of progress.
fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .chars()
        .take(200)
        .collect()
}
