//! A tokenkeeper instance in a process of its own: the same service `tokenkeeper serve`
//! runs, configured by `TOKENKEEPER_*` variables, except that its clock is the simulation's
//! file. The benchmark re-executes itself as `bench year-instance` to get one; the
//! simulation starts, stops, and kills (SIGKILL) such processes.

use super::clock::FileClock;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::process::{Child, Command};
use url::Url;

/// Where the child finds the clock file.
const CLOCK_VAR: &str = "BENCH_YEAR_CLOCK";

/// The child's side: `bench year-instance`.
pub async fn serve_child() -> anyhow::Result<()> {
    let path = PathBuf::from(std::env::var(CLOCK_VAR).context("no clock file given")?);
    let config = tokenkeeper::config::Config::load(None).context("invalid configuration")?;
    tokenkeeper::telemetry::init(&config.log);
    let clock = Arc::new(FileClock::open(&path)?);
    let app = tokenkeeper::app::Application::build(config, clock).await?;
    app.run_until_stopped(tokenkeeper::app::shutdown_signal())
        .await
}

pub struct Instance {
    pub name: String,
    pub url: Url,
    env: Vec<(String, String)>,
    clock_file: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// How many times it was killed.
    pub kills: u32,
}

impl Instance {
    pub fn new(
        name: &str,
        port: u16,
        env: Vec<(String, String)>,
        clock_file: PathBuf,
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            url: Url::parse(&format!("http://127.0.0.1:{port}"))?,
            env,
            clock_file,
            log,
            child: None,
            kills: 0,
        })
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process and waits until it answers `/healthz`.
    pub async fn start(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(std::env::current_exe()?)
            .arg("year-instance")
            .envs(self.env.iter().cloned())
            .env(CLOCK_VAR, &self.clock_file)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start instance {}", self.name))?;
        self.child = Some(child);
        let health = self.url.join("/healthz")?;
        for _ in 0..3000 {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!(
                        "instance {} exited at start ({status}); see {}",
                        self.name,
                        self.log.display()
                    );
                }
            }
            if http
                .get(health.clone())
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        anyhow::bail!(
            "instance {} did not answer /healthz within a minute",
            self.name
        )
    }

    /// SIGKILL: no shutdown, no release of claims, as a crashed machine.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
            self.kills += 1;
        }
        Ok(())
    }

    /// SIGTERM, then waits for the graceful shutdown.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                // SAFETY: sending a signal to our own child, whose pid we just read.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            }
            let status = child.wait().await?;
            if !status.success() {
                anyhow::bail!(
                    "instance {} ended with {status} on SIGTERM; see {}",
                    self.name,
                    self.log.display()
                );
            }
        }
        Ok(())
    }

    /// The peak resident memory of the running process, in KiB (Linux `VmHWM`).
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}
