//! `tokenkeeper sweep` from cron, stopped by SIGTERM mid-sweep: it ends at once, says so with
//! its exit code, records its run as interrupted and leaves no account claimed.

use crate::backend_tests;
use crate::support::{spawn_app, t0};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use std::time::Duration as StdDuration;
use test_databases::Backend;
use tokenkeeper::refresh::{SweepOptions, SweepOutcome};

backend_tests!(sigterm_interrupts_the_sweep_command_and_releases_its_claims);

async fn sigterm_interrupts_the_sweep_command_and_releases_its_claims(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.linked("ada").await;
    app.linked("bo").await;
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    app.fake.controls().reset_counters();
    // LinkedIn never answers: the command is surely mid-call when the signal comes.
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Hang, None);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"))
        .args(["sweep", "--as-of", &day50.to_rfc3339()])
        .env_clear()
        .envs(app.process_env())
        .env("TOKENKEEPER_LINKEDIN__TIMEOUT_SECONDS", "120")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the tokenkeeper binary starts");
    tokio::time::timeout(
        StdDuration::from_secs(30),
        app.fake.controls().wait_for_calls(Endpoint::Token, 1),
    )
    .await
    .expect("the command calls LinkedIn");

    let pid = child.id().expect("the command runs").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(StdDuration::from_secs(10), child.wait())
        .await
        .expect("SIGTERM ends the sweep command within seconds")
        .unwrap();
    assert!(!status.success(), "an interrupted sweep must not exit 0");

    let runs = app.store.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].outcome, SweepOutcome::Interrupted);
    assert!(runs[0].finished_at.is_some());
    // Its claims were released: a sweep right away takes both accounts.
    app.fake.controls().clear_faults();
    let report = app
        .engine
        .sweep(SweepOptions {
            as_of: Some(day50),
            ..SweepOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(report.counts.refreshed, 2);
}
