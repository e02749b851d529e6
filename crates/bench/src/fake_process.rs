//! A fake network in a process of its own, so its CPU is not the sweep's: the benchmark
//! re-executes itself with `--fake` and reads the address from the child's first line. The
//! fake LinkedIn by default; with `--fake-network`, the fake of another network (a sweep over
//! a mix of providers starts one per network).

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The address a fake started as a child prints last on its first line.
pub async fn announced_url(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    line.trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http"))
        .map(str::to_owned)
        .with_context(|| format!("unexpected first line from the fake: {line:?}"))
}

pub struct FakeProcess {
    pub base_url: String,
    /// `linkedin`, or a `fake_linkedin::NetworkKind`'s name.
    network: String,
    _child: Child,
}

impl FakeProcess {
    /// The fake LinkedIn.
    pub async fn start(latency_ms: u64) -> anyhow::Result<Self> {
        Self::start_network("linkedin", latency_ms).await
    }

    /// The fake of `network` (`linkedin`, `x`, `google`, …), answering token calls after
    /// `latency_ms` and renewing tokens it never issued (the benchmark seeds its own).
    pub async fn start_network(network: &str, latency_ms: u64) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--fake", "--fake-network", network])
            .args(["--latency-ms", &latency_ms.to_string()])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the fake {network} process"))?;
        let base_url = announced_url(&mut child).await?;
        Ok(Self {
            base_url,
            network: network.to_owned(),
            _child: child,
        })
    }

    async fn stats(&self) -> anyhow::Result<serde_json::Value> {
        Ok(reqwest::get(format!("{}/_fake/stats", self.base_url))
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Token calls the fake has answered so far (its own count, over HTTP).
    pub async fn token_calls(&self) -> anyhow::Result<u64> {
        self.count("token").await
    }

    /// Refresh calls the fake has answered so far: LinkedIn's token endpoint (which serves
    /// refreshes and code exchanges alike; a sweep makes only refreshes), the other networks'
    /// refreshes (X's, Google's and TikTok's refresh grant, Instagram's and Threads' renewal,
    /// Facebook's `fb_exchange_token`).
    pub async fn refresh_calls(&self) -> anyhow::Result<u64> {
        self.count(if self.network == "linkedin" {
            "token"
        } else {
            "refresh"
        })
        .await
    }

    /// Refreshes the fake granted so far (counted once answered, after its latency).
    pub async fn refresh_grants(&self) -> anyhow::Result<u64> {
        let stats = self.stats().await?;
        stats["refresh_grants"].as_u64().with_context(|| {
            format!(
                "no refresh_grants in the fake {}'s stats: {stats}",
                self.network
            )
        })
    }

    async fn count(&self, endpoint: &str) -> anyhow::Result<u64> {
        let stats = self.stats().await?;
        stats["calls"][endpoint].as_u64().with_context(|| {
            format!(
                "no {endpoint} call count in the fake {}'s stats: {stats}",
                self.network
            )
        })
    }
}

pub async fn serve(network: &str, latency_ms: u64) -> anyhow::Result<()> {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: fake_linkedin::cli::FakeArgs,
    }
    let latency = latency_ms.to_string();
    let wrapper = Wrapper::parse_from([
        "fake-linkedin",
        "--network",
        network,
        "--bind",
        "127.0.0.1:0",
        "--accept-unknown-refresh-tokens",
        "--latency-ms",
        &latency,
    ]);
    fake_linkedin::cli::run(wrapper.args).await
}
