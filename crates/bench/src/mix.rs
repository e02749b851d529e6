//! A sweep over a mix of providers (`--providers linkedin=60,x=20,google=10,instagram=10`):
//! accounts of several networks in one table, each provider configured as the service is
//! (`[linkedin]`, `[providers.NAME]`), each network's fake in a process of its own with the
//! same latency, one sweep, and what each provider got of it. The run fails, naming the
//! provider, unless every due account was refreshed with exactly one refresh call.

use crate::fake_process::FakeProcess;
use crate::{as_of, cpu, memory, seed, Args};
use anyhow::Context;
use chrono::Duration;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::config::Config;
use tokenkeeper::domain::SystemClock;
use tokenkeeper::provider::Providers;
use tokenkeeper::refresh::{EngineStores, RefreshEngine, SweepOptions};
use tokenkeeper::store;
use tokenkeeper::workers::Housekeeping;

/// The networks a mix may name: each is configured under its kind's name.
const NETWORKS: [&str; 7] = [
    "linkedin",
    "x",
    "google",
    "tiktok",
    "instagram",
    "threads",
    "facebook",
];

/// What a seeded account of a network holds: what the network renews with.
#[derive(Debug, Clone, Copy)]
pub struct SeedShape {
    /// `None`: no refresh token (Instagram, Threads and Facebook renew the access token
    /// itself); `Some(None)`: one with no fixed end (Google); `Some(Some(life))`: one that
    /// ends `life` after linking (LinkedIn 365 days, X and TikTok 180).
    pub refresh_token_life: Option<Option<Duration>>,
    /// How long after it falls due the seeded access token ends: 10 days for the networks
    /// that renew with a refresh token (what the LinkedIn-only sweep always seeded), 40 for
    /// those that renew the access token itself, which must still live when the sweep
    /// reaches it (the due accounts are up to 30 days overdue).
    pub access_token_end_after_due: Duration,
    /// What the member granted, as the service stores it.
    pub scope: &'static str,
}

impl SeedShape {
    fn of(network: &str) -> Self {
        let (life, scope) = match network {
            "linkedin" => (
                Some(Some(Duration::days(365))),
                "openid profile email w_member_social",
            ),
            "x" => (
                Some(Some(Duration::days(180))),
                "tweet.read users.read offline.access",
            ),
            "google" => (Some(None), "openid email profile"),
            "tiktok" => (Some(Some(Duration::days(180))), "user.info.basic"),
            "instagram" => (None, "instagram_business_basic"),
            "threads" => (None, "threads_basic"),
            "facebook" => (None, "public_profile"),
            other => unreachable!("{other} is not among NETWORKS"),
        };
        let access_token_end_after_due = if life.is_some() {
            Duration::days(10)
        } else {
            Duration::days(40)
        };
        Self {
            refresh_token_life: life,
            access_token_end_after_due,
            scope,
        }
    }
}

/// One provider's part of the mix.
#[derive(Debug, Clone)]
pub struct Share {
    /// The provider's name, which is its kind's (`x`) and its fake's `--network`.
    pub name: &'static str,
    pub percent: usize,
    pub seed: SeedShape,
}

/// The providers of the seeded accounts, in whole percents that add up to 100.
#[derive(Debug, Clone)]
pub struct Mix {
    shares: Vec<Share>,
}

impl Mix {
    pub fn linkedin_only() -> Self {
        "linkedin=100".parse().expect("a valid mix")
    }

    /// The provider of account `i`: every hundred consecutive accounts hold each share's
    /// percent, so the due accounts (the first ones) are mixed as the whole table is.
    pub fn share_of(&self, i: usize) -> &Share {
        let mut slot = i % 100;
        for share in &self.shares {
            if slot < share.percent {
                return share;
            }
            slot -= share.percent;
        }
        unreachable!("the shares add up to 100")
    }

    pub fn shares(&self) -> &[Share] {
        &self.shares
    }

    /// `linkedin=60 x=20`, as the tables print it.
    fn label(&self) -> String {
        let parts: Vec<String> = (self.shares.iter())
            .map(|s| format!("{}={}", s.name, s.percent))
            .collect();
        parts.join(" ")
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let mut shares: Vec<Share> = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, percent) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected NAME=PERCENT"))?;
            let name = NETWORKS
                .into_iter()
                .find(|n| *n == name.trim())
                .ok_or_else(|| format!("{name:?}: expected one of {}", NETWORKS.join(", ")))?;
            let percent: usize = (percent.trim().parse().ok())
                .filter(|p| (1..=100).contains(p))
                .ok_or_else(|| format!("{part:?}: the percent must be 1 to 100"))?;
            if shares.iter().any(|s| s.name == name) {
                return Err(format!("{name} is named twice"));
            }
            shares.push(Share {
                name,
                percent,
                seed: SeedShape::of(name),
            });
        }
        let total: usize = shares.iter().map(|s| s.percent).sum();
        if total != 100 {
            return Err(format!("the percents add up to {total}, not 100"));
        }
        Ok(Self { shares })
    }
}

/// One fake per network of the mix, each in its own process.
struct Fakes(Vec<(&'static str, FakeProcess)>);

impl Fakes {
    async fn start(mix: &Mix, latency_ms: u64) -> anyhow::Result<Self> {
        let mut fakes = Vec::new();
        for share in mix.shares() {
            let fake = FakeProcess::start_network(share.name, latency_ms).await?;
            fakes.push((share.name, fake));
        }
        Ok(Self(fakes))
    }

    fn url(&self, name: &str) -> Option<&str> {
        (self.0.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.base_url.as_str())
    }

    async fn refresh_calls(&self) -> anyhow::Result<BTreeMap<&'static str, u64>> {
        let mut calls = BTreeMap::new();
        for (name, fake) in &self.0 {
            calls.insert(*name, fake.refresh_calls().await?);
        }
        Ok(calls)
    }
}

/// The service's configuration for the mix: LinkedIn as `[linkedin]` (pointed at a closed
/// port when the mix has no LinkedIn accounts: nothing calls it), every other network as
/// `[providers.NAME]` with `kind = NAME` and its fake's token URL.
fn config(database_url: &str, fakes: &Fakes, mix: &Mix, args: &Args) -> anyhow::Result<Config> {
    let linkedin = fakes.url("linkedin").unwrap_or("http://127.0.0.1:9");
    let defaults = fake_linkedin::FakeNetworkConfig::default();
    let mut providers = Vec::new();
    for share in mix.shares().iter().filter(|s| s.name != "linkedin") {
        let kind = fake_linkedin::NetworkKind::from_name(share.name).expect("a faked network");
        let url = fakes.url(share.name).expect("a fake per network");
        let key = |k: &str| format!("PROVIDERS__{}__{k}", share.name.to_uppercase());
        providers.extend([
            (key("KIND"), share.name.to_owned()),
            (key("CLIENT_ID"), defaults.client_id.clone()),
            (key("CLIENT_SECRET"), defaults.client_secret.clone()),
            (key("TOKEN_URL"), format!("{url}{}", kind.token_path())),
        ]);
    }
    crate::config_with(database_url, linkedin, args, providers)
}

/// The table heads, printed once.
pub fn print_headers() {
    println!(
        "| backend | accounts | due | providers | sweep (s) | accounts/s | C/L (or rate) ceiling/s | achieved / (C/L) | peak RSS during sweep (MB) | machine CPU busy during sweep (%) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
}

pub const PROVIDER_HEADER: &str = "| backend | accounts | provider | share (%) | accounts | due | refreshed | refresh calls at its fake | due left unrefreshed | its last refresh answered after (s) | its accounts/s |\n|---|---|---|---|---|---|---|---|---|---|---|";

/// One table size on one backend: the overall row, the per-provider rows, and every way the
/// sweep fell short (a due account left, a provider called other than once per due account).
pub struct Measured {
    pub row: String,
    pub provider_rows: Vec<String>,
    pub failures: Vec<String>,
}

pub async fn run(args: &Args, mix: &Mix, backends: &[Backend]) -> anyhow::Result<()> {
    println!(
        "A sweep over a mix of providers ({}): one fake per network, each a separate process started afresh for each table, latency {} ms, concurrency {}, batch {}, rate {}/s",
        mix.label(),
        args.latency_ms,
        args.concurrency,
        args.batch_size,
        args.rate_per_second
    );
    print_headers();
    let mut provider_rows = Vec::new();
    let mut failures = Vec::new();
    for &backend in backends {
        for &n in &args.accounts {
            let Some(measured) = run_one(args, mix, backend, n).await? else {
                println!("| {backend:?} | {n} | skipped: no server |");
                continue;
            };
            println!("{}", measured.row);
            provider_rows.extend(measured.provider_rows);
            failures.extend(
                (measured.failures.into_iter()).map(|f| format!("{backend:?}, {n} accounts: {f}")),
            );
        }
    }
    println!("\nPer provider (its accounts/s: its due accounts over the time its last refresh was answered, from the sweep's start):");
    println!("{PROVIDER_HEADER}");
    for row in provider_rows {
        println!("{row}");
    }
    anyhow::ensure!(
        failures.is_empty(),
        "the sweep over a mix of providers did not refresh every due account once:\n  {}",
        failures.join("\n  ")
    );
    Ok(())
}

async fn run_one(
    args: &Args,
    mix: &Mix,
    backend: Backend,
    n: usize,
) -> anyhow::Result<Option<Measured>> {
    let Some(db) = TestDatabase::create(backend).await else {
        return Ok(None);
    };
    // Fresh fakes for each table: X and TikTok spend a refresh token once, and every table
    // is seeded with the same ones.
    let fakes = &Fakes::start(mix, args.latency_ms).await?;
    let config = config(&db.url, fakes, mix, args)?;
    let cipher = config.encryption.cipher()?;
    let store = store::connect(&db.url, cipher.clone()).await?;
    store.migrate().await?;
    let due = args.due.min(n);
    seed::accounts_of(&db.url, n, due, as_of(), &cipher, mix)
        .await
        .context("seeding")?;
    let accounts = seed::counts_by_provider(&db.url, "1 = 1", None).await?;
    let due_by = seed::counts_by_provider(&db.url, "expiration <= $1", Some(as_of())).await?;

    let engine = RefreshEngine::new(
        EngineStores::of(&store),
        Providers::from_config(&config)?,
        Arc::new(SystemClock),
        config.refresh.clone(),
        config.notify.clone(),
        Housekeeping::of(&store, &config),
    );
    let calls_before = fakes.refresh_calls().await?;
    let grants_before = {
        let mut grants = BTreeMap::new();
        for (name, fake) in &fakes.0 {
            grants.insert(*name, fake.refresh_grants().await?);
        }
        grants
    };
    memory::reset_peak();
    let cpu_before = cpu::sample();
    let started = Instant::now();
    let done_at = Arc::new(Mutex::new(BTreeMap::new()));
    let watch = watch_providers(fakes, &grants_before, &due_by, started, done_at.clone());
    let report = tokio::select! {
        report = engine.sweep(SweepOptions {
            as_of: Some(as_of()),
            ..SweepOptions::default()
        }) => report?,
        () = watch => unreachable!("the watch ends only when the sweep does"),
    };
    let sweep_secs = started.elapsed().as_secs_f64();
    let cpu_busy = cpu::busy_percent(cpu_before, cpu::sample());
    let peak_mb = memory::peak_rss_mb();
    let calls_after = fakes.refresh_calls().await?;
    let refreshed =
        seed::counts_by_provider(&db.url, "last_refreshed_at IS NOT NULL", None).await?;
    let left = seed::counts_by_provider(
        &db.url,
        "last_refreshed_at IS NULL AND expiration <= $1",
        Some(as_of()),
    )
    .await?;

    let mut failures = Vec::new();
    if report.counts.refreshed != due as i64 {
        failures.push(format!(
            "the sweep refreshed {} accounts of {due} due ({:?})",
            report.counts.refreshed, report.counts
        ));
    }
    // The watch samples every 50 ms: a provider it had not yet seen finish did so by the
    // sweep's end.
    let done_at = done_at.lock().expect("watch state").clone();
    let mut provider_rows = Vec::new();
    for share in mix.shares() {
        let name = share.name;
        let count = |m: &BTreeMap<String, i64>| m.get(name).copied().unwrap_or(0);
        let (due_p, refreshed_p, left_p) = (count(&due_by), count(&refreshed), count(&left));
        let calls = calls_after[&name] - calls_before[&name];
        if due_p == 0 {
            failures.push(format!(
                "{name}: no account of it was due (too few due for the mix)"
            ));
        }
        if refreshed_p != due_p || left_p != 0 {
            failures.push(format!(
                "{name}: {refreshed_p} of {due_p} due accounts refreshed, {left_p} left"
            ));
        }
        if calls != due_p as u64 {
            failures.push(format!(
                "{name}: its fake answered {calls} refresh calls for {due_p} due accounts"
            ));
        }
        let finished = (due_p > 0).then(|| done_at.get(name).copied().unwrap_or(sweep_secs));
        provider_rows.push(format!(
            "| {backend:?} | {n} | {name} | {} | {} | {due_p} | {refreshed_p} | {calls} | {left_p} | {} | {} |",
            share.percent,
            count(&accounts),
            finished.map_or("-".into(), |s| format!("{s:.2}")),
            finished.map_or("-".into(), |s| format!("{:.0}", due_p as f64 / s)),
        ));
    }
    let achieved = due as f64 / sweep_secs;
    let by_latency =
        (args.latency_ms > 0).then(|| args.concurrency as f64 / (args.latency_ms as f64 / 1000.0));
    let by_rate = (args.rate_per_second < crate::UNPACED).then_some(args.rate_per_second as f64);
    let ceiling = match (by_latency, by_rate) {
        (Some(l), Some(r)) => Some(l.min(r)),
        (l, r) => l.or(r),
    };
    let row = format!(
        "| {backend:?} | {n} | {due} | {} | {sweep_secs:.2} | {achieved:.0} | {} | {} | {peak_mb:.1} | {cpu_busy:.0} |",
        mix.label(),
        ceiling.map_or("-".into(), |c| format!("{c:.0}")),
        ceiling.map_or("-".into(), |c| format!("{:.2}", achieved / c)),
    );
    Ok(Some(Measured {
        row,
        provider_rows,
        failures,
    }))
}

/// Polls each fake's granted refreshes every 50 ms while the sweep runs and notes, per
/// provider, when it had granted all its due accounts (seconds from `started`). Never ends by
/// itself: the sweep's end drops it.
async fn watch_providers(
    fakes: &Fakes,
    before: &BTreeMap<&'static str, u64>,
    due: &BTreeMap<String, i64>,
    started: Instant,
    done_at: Arc<Mutex<BTreeMap<&'static str, f64>>>,
) {
    loop {
        for (name, fake) in &fakes.0 {
            if done_at.lock().expect("watch state").contains_key(name) {
                continue;
            }
            let want = due.get(*name).copied().unwrap_or(0) as u64;
            // A failed poll is only a missed sample: the next one reads again.
            if let Ok(grants) = fake.refresh_grants().await {
                if grants - before[name] >= want {
                    let secs = started.elapsed().as_secs_f64();
                    done_at.lock().expect("watch state").insert(*name, secs);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_is_whole_percents_adding_up_to_100() {
        let mix: Mix = "linkedin=60, x=20,google=10,instagram=10".parse().unwrap();
        let names: Vec<_> = (0..100).map(|i| mix.share_of(i).name).collect();
        for (name, percent) in [
            ("linkedin", 60),
            ("x", 20),
            ("google", 10),
            ("instagram", 10),
        ] {
            assert_eq!(names.iter().filter(|n| **n == name).count(), percent);
        }
        assert_eq!(mix.share_of(160).name, "x");
        for wrong in [
            "linkedin=60,x=20",
            "linkedin=60,x=50",
            "myspace=100",
            "x=0,linkedin=100",
            "x=50,x=50",
            "linkedin",
        ] {
            assert!(wrong.parse::<Mix>().is_err(), "{wrong}");
        }
    }
}
