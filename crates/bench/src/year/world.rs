//! Everything the simulated year runs on: a fresh database, the fake networks (each in a
//! process of its own, on the simulation's clock), the SMTP server the reconnect emails reach,
//! and the tokenkeeper instances configured against them.

use super::clock::SimClock;
use super::fleet::Network;
use super::instance::Instance;
use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::distributions::{Alphanumeric, DistString};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use test_databases::{Backend, TestDatabase};
use tokio::process::{Child, Command};

/// The child's side of a fake network: `bench year-fake --network x ...`.
pub async fn serve_fake(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: fake_linkedin::cli::FakeArgs,
    }
    let wrapper = Wrapper::parse_from(std::iter::once("year-fake".to_owned()).chain(args));
    fake_linkedin::cli::run(wrapper.args).await
}

/// A fake network in its own process.
pub struct Fake {
    pub base_url: String,
    _child: Child,
}

impl Fake {
    async fn start(args: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("year-fake")
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a fake network")?;
        let base_url = crate::fake_process::announced_url(&mut child).await?;
        Ok(Self {
            base_url,
            _child: child,
        })
    }

    /// Where a host app checks that a token works (who it belongs to).
    pub fn use_url(&self, network: Network) -> String {
        match network {
            Network::X => format!("{}/2/users/me", self.base_url),
            _ => format!("{}/v2/userinfo", self.base_url),
        }
    }

    pub async fn stats(&self, http: &reqwest::Client) -> anyhow::Result<serde_json::Value> {
        Ok(http
            .get(format!("{}/_fake/stats", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    pub async fn revoke(&self, http: &reqwest::Client, sub: &str) -> anyhow::Result<()> {
        http.post(format!("{}/_fake/revoke", self.base_url))
            .json(&serde_json::json!({ "sub": sub }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Every token call answers `fault` until cleared (an outage).
    pub async fn fail_token_calls(
        &self,
        http: &reqwest::Client,
        network: Network,
        fault: serde_json::Value,
    ) -> anyhow::Result<()> {
        let endpoints: &[&str] = match network {
            Network::X => &["token", "refresh"],
            _ => &["token"],
        };
        for endpoint in endpoints {
            http.post(format!("{}/_fake/faults", self.base_url))
                .json(&serde_json::json!({ "endpoint": endpoint, "fault": fault }))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(())
    }

    pub async fn clear_faults(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        http.delete(format!("{}/_fake/faults", self.base_url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

pub struct World {
    pub db: TestDatabase,
    pub smtp: fake_linkedin::smtp::SmtpServer,
    pub fakes: HashMap<Network, Fake>,
    pub instances: Vec<Instance>,
    pub clock: SimClock,
    pub api_key: String,
    /// The instances' configuration (without their own address).
    pub env: Vec<(String, String)>,
}

const CLIENT_ID: &str = "fake-client-id";
const CLIENT_SECRET: &str = "fake-client-secret";

impl World {
    pub async fn start(
        backend: Backend,
        instances: usize,
        start: DateTime<Utc>,
        dir: &Path,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = TestDatabase::create(backend)
            .await
            .with_context(|| format!("no {} server to run the year on", backend.name()))?;
        let smtp = fake_linkedin::smtp::SmtpServer::try_start().await?;
        let clock_file = dir.join("now");
        let mut clock = SimClock::start(clock_file.clone(), start, http.clone()).await?;
        let mut fakes = HashMap::new();
        fakes.insert(Network::LinkedinPartner, Fake::start(&[]).await?);
        fakes.insert(
            Network::LinkedinOpen,
            Fake::start(&["--non-partner"]).await?,
        );
        fakes.insert(Network::X, Fake::start(&["--network", "x"]).await?);
        for fake in fakes.values() {
            clock.follow(fake.base_url.clone()).await?;
        }
        let api_key = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        let ports = free_ports(instances)?;
        let public = format!("http://127.0.0.1:{}", ports[0]);
        let shared = shared_env(&db, &smtp, &fakes, &api_key, &public, start);
        let env = shared.clone();
        let mut list = Vec::new();
        for (i, port) in ports.into_iter().enumerate() {
            let mut env = shared.clone();
            env.push(var("HTTP__BIND", format!("127.0.0.1:{port}")));
            list.push(Instance::new(
                &format!("instance-{}", i + 1),
                port,
                env,
                clock_file.clone(),
                dir.join(format!("instance-{}.log", i + 1)),
            )?);
        }
        // One at a time: the first migrates the database, the others find it ready.
        for instance in &mut list {
            instance.start(http).await?;
        }
        Ok(Self {
            db,
            smtp,
            fakes,
            instances: list,
            clock,
            api_key,
            env,
        })
    }

    pub fn fake(&self, network: Network) -> &Fake {
        &self.fakes[&network]
    }
}

fn var(key: &str, value: impl Into<String>) -> (String, String) {
    (format!("TOKENKEEPER_{key}"), value.into())
}

fn shared_env(
    db: &TestDatabase,
    smtp: &fake_linkedin::smtp::SmtpServer,
    fakes: &HashMap<Network, Fake>,
    api_key: &str,
    public: &str,
    start: DateTime<Utc>,
) -> Vec<(String, String)> {
    let partner = &fakes[&Network::LinkedinPartner].base_url;
    let open = &fakes[&Network::LinkedinOpen].base_url;
    let x = &fakes[&Network::X].base_url;
    let mut env = vec![
        var("DATABASE_URL", db.url.clone()),
        var("HTTP__PUBLIC_URL", public),
        // One client (this simulation) plays every member and the host app.
        var("HTTP__RATE_LIMIT_PER_MINUTE", "1000000"),
        var("HTTP__RATE_LIMIT_BURST", "1000000"),
        var("HTTP__MAX_CONNECTIONS_PER_CLIENT", "100000"),
        var("API__API_KEY", api_key),
        var(
            "ENCRYPTION__KEYS",
            tokenkeeper::crypto::new_entry(start).to_string(),
        ),
        var(
            "CONNECT__SIGNING_KEY",
            Alphanumeric.sample_string(&mut rand::thread_rng(), 48),
        ),
        // The scheduler looks at the clock often: the simulation moves it in jumps.
        var("SCHEDULE__POLL_MS", "5"),
        // A sweep's retries wait in real time while the simulated clock stands still: short
        // waits lose nothing the year measures, and an outage's sweeps stay quick.
        var("REFRESH__RETRY_INITIAL_MS", "20"),
        var("REFRESH__RETRY_MAX_TOTAL_SECONDS", "1"),
        var("SMTP__HOST", "127.0.0.1"),
        var("SMTP__PORT", smtp.port.to_string()),
        var("SMTP__SECURITY", "none"),
        var("SMTP__FROM", "Example App <accounts@app.example>"),
        var("SMTP__TIMEOUT_SECONDS", "10"),
        var(
            "LOG__LEVEL",
            std::env::var("BENCH_YEAR_LOG").unwrap_or_else(|_| "warn".into()),
        ),
        var("LINKEDIN__CLIENT_ID", CLIENT_ID),
        var("LINKEDIN__CLIENT_SECRET", CLIENT_SECRET),
        var(
            "LINKEDIN__AUTHORIZE_URL",
            format!("{partner}/oauth/v2/authorization"),
        ),
        var(
            "LINKEDIN__TOKEN_URL",
            format!("{partner}/oauth/v2/accessToken"),
        ),
        var(
            "LINKEDIN__INTROSPECT_URL",
            format!("{partner}/oauth/v2/introspectToken"),
        ),
        var("LINKEDIN__USERINFO_URL", format!("{partner}/v2/userinfo")),
    ];
    let open_app = [
        ("KIND", "linkedin".to_owned()),
        ("DISPLAY_NAME", "LinkedIn".to_owned()),
        ("CLIENT_ID", CLIENT_ID.to_owned()),
        ("CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AUTHORIZE_URL", format!("{open}/oauth/v2/authorization")),
        ("TOKEN_URL", format!("{open}/oauth/v2/accessToken")),
        (
            "INTROSPECTION_URL",
            format!("{open}/oauth/v2/introspectToken"),
        ),
        ("USERINFO_URL", format!("{open}/v2/userinfo")),
    ];
    env.extend(
        open_app
            .into_iter()
            .map(|(k, v)| var(&format!("PROVIDERS__LINKEDIN_OPEN__{k}"), v)),
    );
    let x_app = [
        ("KIND", "x".to_owned()),
        ("CLIENT_ID", CLIENT_ID.to_owned()),
        ("CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AUTHORIZE_URL", format!("{x}/i/oauth2/authorize")),
        ("TOKEN_URL", format!("{x}/2/oauth2/token")),
        ("USERINFO_URL", format!("{x}/2/users/me")),
        ("REVOCATION_URL", format!("{x}/2/oauth2/revoke")),
    ];
    env.extend(
        x_app
            .into_iter()
            .map(|(k, v)| var(&format!("PROVIDERS__X__{k}"), v)),
    );
    env
}

/// Ports free now, for the instances to bind (each keeps its port across restarts).
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    Ok(listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?)
}

/// The directory the year's outputs go to, made if missing.
pub fn out_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| std::env::temp_dir().join("tokenkeeper-year"))
}
