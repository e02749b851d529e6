//! The fake LinkedIn in a process of its own, so its CPU is not the sweep's: the benchmark
//! re-executes itself with `--fake` and reads the address from the child's first line.

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct FakeProcess {
    pub base_url: String,
    _child: Child,
}

impl FakeProcess {
    pub async fn start(latency_ms: u64) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--fake", "--latency-ms", &latency_ms.to_string()])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the fake LinkedIn process")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await?;
        let base_url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http"))
            .with_context(|| format!("unexpected first line from the fake: {line:?}"))?
            .to_owned();
        Ok(Self {
            base_url,
            _child: child,
        })
    }

    /// Token calls the fake has answered so far (its own count, over HTTP).
    pub async fn token_calls(&self) -> anyhow::Result<u64> {
        let stats: serde_json::Value = reqwest::get(format!("{}/_fake/stats", self.base_url))
            .await?
            .error_for_status()?
            .json()
            .await?;
        stats["calls"]["token"]
            .as_u64()
            .with_context(|| format!("no token call count in the fake's stats: {stats}"))
    }
}

pub async fn serve(latency_ms: u64) -> anyhow::Result<()> {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: fake_linkedin::cli::FakeArgs,
    }
    let latency = latency_ms.to_string();
    let wrapper = Wrapper::parse_from([
        "fake-linkedin",
        "--bind",
        "127.0.0.1:0",
        "--accept-unknown-refresh-tokens",
        "--latency-ms",
        &latency,
    ]);
    fake_linkedin::cli::run(wrapper.args).await
}
