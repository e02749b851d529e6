//! The host API against its own OpenAPI document, checked by schemathesis (Python, PyPI), the
//! tool a new integrator or an API gateway's vendor would point at it. It reads the served
//! document, sends requests generated from it, valid and invalid, with `--checks all`:
//! undocumented statuses, answers that do not match their schema, valid requests refused,
//! invalid ones accepted, routes that work without the key. Its stateful phase follows the
//! document's links over linked accounts: list, read, refresh, report a token, delete, and
//! an import followed the same way. The seed is fixed, so a failure comes back as it was
//! found, with the command to reproduce it printed.
//!
//! The version is pinned in `tests/schemathesis/requirements.txt` (`.ci/run` installs it);
//! whatever the run needs to know beyond the document, with the reason for each, is in
//! `tests/schemathesis/schemathesis.toml`. Without `st` of that version the test is reported
//! ignored with the reason, failed under `CI=true`.

use crate::service_tests;
use crate::support::{spawn_app, t0, API_KEY};
use std::path::PathBuf;
use std::process::Stdio;
use test_databases::Backend;

service_tests!(schemathesis_finds_no_failure_in_the_host_api);

/// The seed of every run: a failure it finds is found again.
const SEED: u32 = 26;
/// Examples per operation, in each phase that generates them.
const EXAMPLES: u32 = 60;

fn pinned_version() -> &'static str {
    include_str!("../../schemathesis/requirements.txt")
        .lines()
        .find_map(|line| line.trim().strip_prefix("schemathesis=="))
        .expect("requirements.txt pins schemathesis")
}

fn config_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml")
}

/// The installed `st`'s version, or why it cannot be used.
async fn installed_version() -> Result<String, String> {
    let output = tokio::process::Command::new("st")
        .arg("--version")
        .output()
        .await
        .map_err(|e| format!("st cannot run ({e})"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // `st, version 4.32.5`
    text.trim()
        .rsplit(' ')
        .next()
        .filter(|v| output.status.success() && !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("st --version answered {text:?}"))
}

async fn schemathesis_finds_no_failure_in_the_host_api() {
    let pinned = pinned_version();
    let install = format!("python3 -m pip install schemathesis=={pinned}");
    match installed_version().await {
        Ok(version) if version == pinned => {}
        Ok(other) => {
            crate::support::harness::not_run(format!(
                "the OpenAPI document not checked: schemathesis {other} is installed, the run is pinned to {pinned}; {install}"
            ));
            return;
        }
        Err(why) => {
            crate::support::harness::not_run(format!(
                "the OpenAPI document not checked: {why}; {install}"
            ));
            return;
        }
    }
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    // A few accounts linked through the real connect flow, one of them by an app without
    // partner access (no refresh token), for the stateful phase to find in the list.
    for user in ["ada", "grace"] {
        app.linked(user).await;
    }
    app.fake.controls().set_partner(false);
    app.linked("linus").await;
    app.fake.controls().set_partner(true);
    // And more, stored directly, so that the list still names some after the run's deletions.
    app.seed(12, t0()).await;

    let document = app.url("/api/v1/openapi.json");
    let authorization = format!("Authorization: Bearer {API_KEY}");
    let seed = SEED.to_string();
    let examples = EXAMPLES.to_string();
    let config = config_file();
    let args: Vec<&str> = vec![
        "--no-color",
        "--config-file",
        config.to_str().unwrap(),
        "run",
        document.as_str(),
        "--checks",
        "all",
        "-H",
        &authorization,
        "--seed",
        &seed,
        "-n",
        &examples,
        // Examples it found before are not replayed: each run is the seed's alone.
        "--generation-database",
        "none",
    ];
    let command = format!("st {}", shell_words(&args));
    // What st keeps between runs (its cache, Hypothesis's examples) stays out of the tree.
    let scratch = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new("st")
        .args(&args)
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("st runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures ({}) in {:.1?}; reproduce with\n{command}\nagainst a server with linked accounts\n{stdout}\n{stderr}",
        output.status,
        started.elapsed()
    );
    // Shown with --nocapture: the run's own summary.
    println!("{command}\n(took {:.1?})\n{stdout}", started.elapsed());
}

/// `args` as a shell would take them back.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            if arg.contains(' ') {
                format!("'{arg}'")
            } else {
                (*arg).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
