//! The ceilings the sweep is judged against, measured in the same run at the same concurrency.

use chrono::{Duration, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokenkeeper::config::Config;
use tokenkeeper::domain::RefreshToken;
use tokenkeeper::linkedin::LinkedInClient;
use tokenkeeper::store::{Lease, RefreshWrite, Store};
use tokio::task::JoinSet;

/// Calls per second the fake's token endpoint answers through our own client, alone.
pub async fn token_endpoint(
    config: &Config,
    concurrency: usize,
    calls: usize,
) -> anyhow::Result<f64> {
    let client = LinkedInClient::new(config.linkedin.clone())?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let next = next.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls {
                    return Ok::<_, anyhow::Error>(());
                }
                let token = RefreshToken::new(format!("ceiling-{i}"));
                client.refresh(&token, Utc::now()).await?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(calls as f64 / started.elapsed().as_secs_f64())
}

/// Write-backs per second the database takes for the sweep's own statement, alone.
pub async fn write_back(
    store: Arc<dyn Store>,
    config: &Config,
    concurrency: usize,
    count: usize,
) -> anyhow::Result<f64> {
    // Far enough ahead that everything is due again.
    let later = super::as_of() + Duration::days(120);
    let lease = Lease {
        holder: "bench-ceiling".into(),
        now: Utc::now(),
        until: Utc::now() + Duration::minutes(10),
    };
    let claimed = store.claim_due(later, &lease, count as i64).await?.accounts;
    let client = LinkedInClient::new(config.linkedin.clone())?;
    // Real tokens of realistic size, fetched before the clock starts.
    let tokens = client
        .refresh(&RefreshToken::new("ceiling-write"), later)
        .await?;
    let queue = Arc::new(std::sync::Mutex::new(claimed));
    let started = Instant::now();
    let written = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (store, queue, tokens, written) = (
            store.clone(),
            queue.clone(),
            tokens.clone(),
            written.clone(),
        );
        tasks.spawn(async move {
            loop {
                let Some(account) = queue.lock().unwrap().pop() else {
                    return Ok::<_, anyhow::Error>(());
                };
                let write = RefreshWrite::Refreshed {
                    tokens: tokens.clone(),
                    expiration: later + Duration::days(50),
                    at: later,
                };
                if store.complete_refresh(&account, &write, &[]).await? {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(written.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}
