//! The simulated year's time: the simulation writes it to a file (RFC 3339, replaced by a
//! rename so no reader sees half a write) and sets each fake network's clock to it; every
//! service instance reads the file as its clock. The service itself has no way to be told
//! what time it is: only this benchmark builds it with such a clock.

use anyhow::Context;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use tokenkeeper::domain::Clock;

/// How often a waiting worker looks whether the time moved.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

pub struct FileClock {
    path: PathBuf,
    /// The last time read: a file briefly unreadable (being replaced) keeps it.
    last: Mutex<DateTime<Utc>>,
}

impl FileClock {
    /// Refuses a file that does not hold a time now: a simulation that forgot to set it must
    /// not run on real time unnoticed.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let first = read(path)
            .with_context(|| format!("the clock file {}: no time in it", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            last: Mutex::new(first),
        })
    }
}

fn read(path: &Path) -> anyhow::Result<DateTime<Utc>> {
    let text = std::fs::read_to_string(path)?;
    let at = DateTime::parse_from_rfc3339(text.trim())
        .with_context(|| format!("{:?} is not an RFC 3339 time", text.trim()))?;
    Ok(at.with_timezone(&Utc))
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().expect("clock lock");
        if let Ok(at) = read(&self.path) {
            *last = at;
        }
        *last
    }

    fn jumped(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        // Read now, not at the first poll: a move between the call and the await counts.
        let from = self.now();
        Box::pin(async move {
            while self.now() == from {
                tokio::time::sleep(WATCH_EVERY).await;
            }
        })
    }
}

/// The simulation's side: moves the time for the service instances (the file) and the fakes.
pub struct SimClock {
    path: PathBuf,
    fakes: Vec<String>,
    http: reqwest::Client,
    now: DateTime<Utc>,
}

impl SimClock {
    pub async fn start(
        path: PathBuf,
        at: DateTime<Utc>,
        http: reqwest::Client,
    ) -> anyhow::Result<Self> {
        let mut clock = Self {
            path,
            fakes: Vec::new(),
            http,
            now: at,
        };
        clock.set(at).await?;
        Ok(clock)
    }

    /// A fake network whose clock follows this one from now on.
    pub async fn follow(&mut self, fake_base_url: String) -> anyhow::Result<()> {
        self.fakes.push(fake_base_url);
        let at = self.now;
        self.set(at).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub async fn set(&mut self, at: DateTime<Utc>) -> anyhow::Result<()> {
        let part = self.path.with_extension("part");
        std::fs::write(&part, at.to_rfc3339())?;
        std::fs::rename(&part, &self.path)?;
        for fake in &self.fakes {
            self.http
                .post(format!("{fake}/_fake/clock"))
                .json(&serde_json::json!({ "now": at }))
                .send()
                .await?
                .error_for_status()
                .with_context(|| format!("setting the clock of the fake at {fake}"))?;
        }
        self.now = at;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        let part = path.with_extension("part");
        std::fs::write(&part, text).unwrap();
        std::fs::rename(&part, path).unwrap();
    }

    #[tokio::test]
    async fn follows_the_file_and_wakes_waiters_when_it_moves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("now");
        write(&path, "2027-01-01T00:00:00Z");
        let clock = FileClock::open(&path).unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2027-01-01T00:00:00+00:00");
        let waiter = clock.jumped();
        write(&path, "2027-01-01T12:00:00Z");
        waiter.await;
        assert_eq!(clock.now().to_rfc3339(), "2027-01-01T12:00:00+00:00");
        // A file that cannot be read for a moment keeps the last time.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2027-01-01T12:00:00+00:00");
    }

    #[test]
    fn refuses_a_file_without_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("now");
        write(&path, "noon");
        let err = FileClock::open(&path).err().unwrap();
        assert!(
            format!("{err:#}").contains("not an RFC 3339 time"),
            "{err:#}"
        );
    }
}
