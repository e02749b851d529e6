//! `tokenkeeper sweep`: one sweep by hand (or by cron), stopped cleanly by a signal, its
//! report on stdout and its outcome in the exit status.

use crate::app::shutdown_signal;
use crate::config::Config;
use crate::refresh::{SweepOptions, SweepOutcome};
use crate::services::Services;
use anyhow::Context;

pub async fn run(
    config: Config,
    as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    let as_of = as_of.map(|t| t.with_timezone(&chrono::Utc));
    let services = Services::build(&config).await?;
    // SIGTERM or Ctrl-C interrupts the sweep cleanly: its claims are released and its run is
    // recorded `interrupted`, instead of being left for the lease to expire.
    let stop = tokio_util::sync::CancellationToken::new();
    let engine = services.engine.with_shutdown(stop.clone());
    let finished = tokio_util::sync::CancellationToken::new();
    let sweeping = async {
        let report = engine
            .sweep(SweepOptions {
                as_of,
                dry_run,
                slot: None,
            })
            .await;
        finished.cancel();
        report
    };
    // Awaited beside the sweep rather than in a task of its own, so nothing is left to abort.
    let signalled = async {
        tokio::select! {
            () = shutdown_signal() => stop.cancel(),
            () = finished.cancelled() => {}
        }
    };
    let (report, ()) = tokio::join!(sweeping, signalled);
    let report = report.context("the sweep could not run")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::refresh::render_report(&report));
    }
    match report.outcome {
        SweepOutcome::Failed => anyhow::bail!(
            "the sweep failed: {}",
            report.error.as_deref().unwrap_or("see the log")
        ),
        // Cron must not take an interrupted sweep for a finished one.
        SweepOutcome::Interrupted => {
            anyhow::bail!("the sweep was interrupted; the next one catches up")
        }
        _ => Ok(()),
    }
}
