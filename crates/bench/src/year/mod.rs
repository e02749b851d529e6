//! A year in a box: a fleet of members on LinkedIn (partner and open apps) and X goes through
//! a simulated year against tokenkeeper instances in processes of their own, on a real
//! database, with the fake networks and a real SMTP conversation; with provider and mail
//! outages and instances killed mid-sweep. It prints the year's figures next to the status
//! quo's, writes them as JSON and a chart, and checks at the end that nothing was lost
//! (exiting non-zero naming the invariant that broke). See docs/benchmarks.md, "A year".

mod chart;
mod clock;
mod faults;
mod figures;
mod fleet;
mod host;
pub mod instance;
mod invariants;
mod observe;
mod record;
mod sim;
mod status_quo;
pub mod world;

use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use figures::Counters;
use fleet::{Answer, Mix, Network};
use std::path::PathBuf;
use test_databases::Backend;

#[derive(Debug, Clone, clap::Args)]
pub struct YearArgs {
    /// Members in the fleet.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Days simulated.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// The database: sqlite, postgres or mysql (MariaDB).
    #[arg(long, default_value = "sqlite")]
    pub on: String,
    /// The networks' shares in percent: linkedin (partner app), linkedin_open (no refresh
    /// tokens), x.
    #[arg(long, default_value = "linkedin=20,linkedin_open=60,x=20")]
    pub networks: String,
    /// How members answer a reconnect email, in percent: same_day, week, late (8 to 30 days),
    /// never.
    #[arg(long, default_value = "same_day=40,week=30,late=15,never=15")]
    pub answers: String,
    /// Revocations per member and year.
    #[arg(long, default_value_t = 0.1)]
    pub revocations: f64,
    /// Service instances sharing the work.
    #[arg(long, default_value_t = 2)]
    pub instances: usize,
    /// No outages and no kills.
    #[arg(long)]
    pub no_faults: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the figures (year.json), the chart (year.svg) and the instances' logs go.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How many hours the clock moves at each step (1, 2, 3, 4, 6 or 12): members act, and
    /// emails go out, at the step's end.
    #[arg(long, default_value_t = 1)]
    pub step_hours: i64,
    /// The CI version: 200 members, 12-hour steps, a third of the host app's reads, the rest
    /// as given.
    #[arg(long)]
    pub short: bool,
}

fn parse_shares<T: Copy>(text: &str, named: &[(&str, T)]) -> anyhow::Result<Vec<(T, u32)>> {
    let mut shares = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, share) = part
            .split_once('=')
            .with_context(|| format!("{part:?}: expected NAME=PERCENT"))?;
        let item = named
            .iter()
            .find(|(n, _)| *n == name.trim())
            .map(|(_, t)| *t)
            .with_context(|| {
                let names: Vec<_> = named.iter().map(|(n, _)| *n).collect();
                format!("{name:?}: expected one of {}", names.join(", "))
            })?;
        let share: u32 = share
            .trim()
            .parse()
            .with_context(|| format!("{part:?}: the share is a whole percent"))?;
        shares.push((item, share));
    }
    let total: u32 = shares.iter().map(|(_, s)| s).sum();
    anyhow::ensure!(
        total == 100,
        "{text:?}: the shares add up to {total}, not 100"
    );
    Ok(shares)
}

fn mix(args: &YearArgs) -> anyhow::Result<Mix> {
    anyhow::ensure!(
        (0.0..=12.0).contains(&args.revocations),
        "--revocations {}: between 0 and 12 a year",
        args.revocations
    );
    Ok(Mix {
        networks: parse_shares(
            &args.networks,
            &[
                ("linkedin", Network::LinkedinPartner),
                ("linkedin_open", Network::LinkedinOpen),
                ("x", Network::X),
            ],
        )
        .context("--networks")?,
        answers: parse_shares(
            &args.answers,
            &[
                ("same_day", Answer::SameDay),
                ("week", Answer::Week),
                ("late", Answer::Late),
                ("never", Answer::Never),
            ],
        )
        .context("--answers")?,
        revocations_per_year: args.revocations,
        ..Mix::default()
    })
}

pub async fn run(mut args: YearArgs) -> anyhow::Result<()> {
    if args.short {
        args.members = 200;
        args.step_hours = 12;
    }
    anyhow::ensure!(
        [1, 2, 3, 4, 6, 12].contains(&args.step_hours),
        "--step-hours {}: 1, 2, 3, 4, 6 or 12 (a step must end on every noon and midnight)",
        args.step_hours
    );
    anyhow::ensure!(
        args.members >= 1 && args.members <= 1_000_000,
        "--members {}: 1 to 1,000,000",
        args.members
    );
    anyhow::ensure!(
        (30..=730).contains(&args.days),
        "--days {}: 30 to 730",
        args.days
    );
    anyhow::ensure!(
        (1..=4).contains(&args.instances),
        "--instances {}: 1 to 4",
        args.instances
    );
    let backend = match args.on.as_str() {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        "mysql" | "mariadb" => Backend::MySql,
        other => anyhow::bail!("--on {other:?}: expected sqlite, postgres or mysql"),
    };
    let mut mix = mix(&args)?;
    if args.short {
        for (_, per_week) in &mut mix.reads_per_week {
            *per_week /= 3.0;
        }
    }
    let start = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let end = start + Duration::days(args.days);
    let out = world::out_dir(args.out.clone());
    let members = fleet::draw(args.members, &mix, start, end, args.seed);
    let wall = std::time::Instant::now();

    let http = reqwest::Client::new();
    let mut world = world::World::start(backend, args.instances, start, &out, &http).await?;
    let config = tokenkeeper::config::Config::load_from(None, world.env.clone())
        .context("the instances' configuration")?;
    let observer = observe::Observer::open(&config, &world.db.url).await?;
    let host = host::Host::new(world.api_key.clone())?;
    let faults = if args.no_faults {
        faults::FaultPlan::none()
    } else {
        faults::FaultPlan::standard(start, args.days)
    };
    println!(
        "A year of {} members on {} ({} instances{}), {} days from {}; outputs in {}",
        args.members,
        backend.name(),
        args.instances,
        if args.no_faults {
            ", no faults"
        } else {
            ", with faults"
        },
        args.days,
        start.format("%Y-%m-%d"),
        out.display()
    );

    let windows = figures::windows(start, end);
    let mut counters = vec![(start, counters_now(&world, &http).await?)];
    let mut sim = sim::Sim::new(
        &mut world,
        &observer,
        host.clone(),
        &members,
        faults,
        args.seed,
    );
    for (i, (from, until)) in windows.iter().enumerate() {
        sim.run(*from, *until).await?;
        counters.push((*until, counters_now(sim.world, &http).await?));
        let day = sim.record.days.last();
        println!(
            "  window {:>2} to {}: {} members, {} without a working connection, {} emails so far, {:.0?} elapsed",
            i + 1,
            until.format("%Y-%m-%d"),
            day.map_or(0, |d| d.members),
            day.map_or(0, |d| d.dead),
            sim.record.emails.len(),
            wall.elapsed()
        );
    }
    let record = std::mem::take(&mut sim.record);
    let states = std::mem::take(&mut sim.states);
    drop(sim);
    let simulated = wall.elapsed();

    let mut checks = vec![
        invariants::active_tokens_work(&world, &observer, &host, &members, &states).await?,
        invariants::no_refresh_token_used_twice(
            &world.fake(invariants::SINGLE_USE).stats(&http).await?,
        ),
        invariants::no_email_twice(&record),
        invariants::one_episode_per_revocation(&record, end, settle(&mix)),
        invariants::every_click_reconnected(&record),
        invariants::no_email_given_up(&observer).await?,
    ];
    let mut peak_kib = record.peak_memory_kib;
    for instance in &mut world.instances {
        peak_kib = peak_kib.max(instance.peak_memory_kib().unwrap_or(0));
        instance.stop().await?;
    }
    checks.push(invariants::none_claimed(&observer, end).await?);

    let without: Vec<_> = members
        .iter()
        .map(|m| status_quo::live(m, end, args.seed))
        .collect();
    let inputs = figures::Inputs {
        members: &members,
        record: &record,
        without: &without,
        counters: &counters,
    };
    let mut per_window: Vec<_> = windows
        .iter()
        .map(|(f, u)| figures::window(&inputs, *f, *u))
        .collect();
    let mut year = figures::window(&inputs, start, end);
    for w in per_window.iter_mut().chain(std::iter::once(&mut year)) {
        // A report that fails leaves its figures out, said aloud rather than as a silent null.
        w.report = match report_json(&world, w.from, w.until).await {
            Ok(report) => Some(report),
            Err(e) => {
                eprintln!("report for {}..{} failed: {e:#}", w.from, w.until);
                None
            }
        };
    }
    let database_bytes = database_size(&world).await.ok();

    let networks = figures::by_network(&inputs);
    println!("\n{}", figures::table(&year, &per_window));
    println!("{}", figures::network_table(&networks));
    println!("reads by the host app: {:?}", record.reads);
    println!(
        "sweeps: {:?}; kills: {}; faults: {}",
        record.sweeps,
        record.kills,
        record.faults.len()
    );
    println!("slowest simulated hours: {:?}", record.slowest_hours);
    println!("real time by part: {:?}", record.time_spent);
    println!(
        "cost: {:.0?} for the simulated year; peak memory of an instance {} MiB; database {}",
        simulated,
        peak_kib / 1024,
        database_bytes.map_or("unknown".to_owned(), |b| format!(
            "{:.1} MiB",
            b as f64 / 1_048_576.0
        ))
    );
    let json = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "members": args.members,
        "days": args.days,
        "database": backend.name(),
        "instances": args.instances,
        "faults": !args.no_faults,
        "mix": mix,
        "year": year,
        "year_by_network": networks,
        "windows": per_window,
        "reads": record.reads,
        "sweeps": record.sweeps,
        "kills": record.kills,
        "days_sampled": record.days,
        "invariants": checks,
        "cost": {
            "wall_seconds": simulated.as_secs_f64(),
            "peak_instance_memory_kib": peak_kib,
            "database_bytes": database_bytes,
        },
    });
    std::fs::write(out.join("year.json"), serde_json::to_string_pretty(&json)?)?;
    chart::draw(&record.days, &out.join("year.svg"))?;

    println!("\ninvariants:");
    for c in &checks {
        println!(
            "  [{}] {}: {}",
            if c.held { "ok" } else { "BROKEN" },
            c.name,
            c.detail
        );
    }
    let broken: Vec<_> = checks.iter().filter(|c| !c.held).map(|c| c.name).collect();
    anyhow::ensure!(
        broken.is_empty(),
        "broken invariant(s): {}",
        broken.join("; ")
    );
    Ok(())
}

/// How long a revocation may go unnoticed: until the host app's next read of the member's
/// token (the least read network's interval), and a week more for the sweep and the email.
fn settle(mix: &Mix) -> Duration {
    let rarest = mix
        .reads_per_week
        .iter()
        .map(|(_, per_week)| *per_week)
        .fold(f64::INFINITY, f64::min);
    let between_reads = if rarest > 0.0 { 7.0 / rarest } else { 365.0 };
    Duration::days(between_reads.ceil() as i64 + 7)
}

async fn counters_now(world: &world::World, http: &reqwest::Client) -> anyhow::Result<Counters> {
    let mut total = Counters::default();
    for network in Network::ALL {
        total = total.add(Counters::of_stats(&world.fake(network).stats(http).await?));
    }
    Ok(total)
}

/// `tokenkeeper report --json` for the window, run as the CLI runs it, in a process of its own.
async fn report_json(
    world: &world::World,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<serde_json::Value> {
    let hours = (until - from).num_hours();
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "year-cli",
            "report",
            "--json",
            "--since",
            &format!("{hours}h"),
            "--as-of",
            &until.to_rfc3339(),
        ])
        .envs(world.env.iter().cloned())
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "report: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The database's size on disk at the end.
async fn database_size(world: &world::World) -> anyhow::Result<u64> {
    let url = &world.db.url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = 0;
        for suffix in ["", "-wal"] {
            bytes += std::fs::metadata(format!("{path}{suffix}")).map_or(0, |m| m.len());
        }
        return Ok(bytes);
    }
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await?;
        let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&pool)
            .await?;
        return Ok(size as u64);
    }
    let pool = sqlx::MySqlPool::connect(url).await?;
    let bytes: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .fetch_one(&pool)
    .await?;
    Ok(bytes as u64)
}
