//! The success report, from a history made through the real paths: members linked through
//! the connect flow, sweeps at the injected clock's slots against the fake LinkedIn (a
//! refresh, a passing failure, revoked grants, an app without refresh tokens), reconnect
//! emails over SMTP, one link opened and abandoned, one reconnect through the emailed link.
//! Every figure is checked by value: computed from the store, printed by `tokenkeeper report`
//! (text and JSON, without the encryption key) and exported as gauges by `serve`.

use crate::backend_tests;
use crate::email::notify::link_in;
use crate::email::smtp::SmtpServer;
use crate::support::metric_values::{metric_values, only};
use crate::support::{spawn, t0, Setup, TestApp};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::Fault;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use std::collections::BTreeMap;
use test_databases::Backend;
use tokenkeeper::domain::AccountStatus;
use tokenkeeper::report::SuccessReport;
use tokenkeeper::store::Window;

backend_tests!(
    every_figure_is_computed_from_the_history,
    the_command_prints_the_figures_as_text_and_as_the_same_json,
    an_earlier_since_leaves_older_events_out,
);
backend_tests!(in_own_process: the_gauges_show_the_figures_after_the_last_sweep);

fn day(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

/// The last sweep of the history, and where every report below ends.
fn end() -> DateTime<Utc> {
    day(61)
}

/// The first email went out at day 50 08:00; its member reconnected at day 51 10:00.
const RECONNECT_SECONDS: i64 = 26 * 3600;

/// Five members, all linked at t0 and due at day 50:
/// - kept: refreshed by the day-50 sweep;
/// - flaky: LinkedIn answers 503 once, refreshed by the next slot;
/// - revoked: its grant is revoked, it is emailed, opens the emailed link and reconnects;
/// - lost: revoked too, emailed, opens the link and goes no further; its token dies;
/// - no-token: linked while the app had no partner access, emailed, never comes back.
///
/// And one before any window the tests read: early, whose token the host app reports dead
/// on day 5 and whose member reconnects on day 20 (next due on day 70). Nothing of it counts
/// in a window, its reconnect least of all.
async fn history(backend: Backend) -> Option<(TestApp, SmtpServer)> {
    let app = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 1)).await?;
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let kept = app.linked("kept").await;
    let flaky = app.linked("flaky").await;
    let revoked = app.linked("revoked").await;
    let lost = app.linked("lost").await;
    app.fake.controls().set_partner(false);
    app.linked("no-token").await;
    app.fake.controls().set_partner(true);
    assert!(kept.has_refresh_token());

    let controls = app.fake.controls();
    let early = app.linked("early").await;
    controls.revoke_member(early.member_id.as_str());
    app.at(day(5));
    let path = "/api/v1/accounts/early/invalid";
    let (status, body) = app.api_request(reqwest::Method::POST, path).await;
    assert_eq!(body["result"], "needs_reconnect", "{status} {body}");
    app.at(day(20));
    assert_eq!(app.relinked("early").await.status, AccountStatus::Active);

    controls.revoke_member(revoked.member_id.as_str());
    controls.revoke_member(lost.member_id.as_str());
    controls.inject_member_fault(flaky.member_id.as_str(), Fault::Status(503), Some(1));
    app.sweep_at(day(50)).await;
    assert_eq!(
        app.account("flaky").await.status,
        AccountStatus::RefreshFailing
    );
    // The first emails of the three episodes; their reminders wait for day 57.
    assert_eq!(worker.send_pending().await.unwrap().sent, 3);
    app.sweep_at(day(50) + Duration::hours(12)).await;
    assert_eq!(app.account("flaky").await.status, AccountStatus::Active);

    let emailed_link = |user: &str| {
        let mail = smtp
            .received()
            .into_iter()
            .find(|m| m.to.iter().any(|to| to.contains(&format!("{user}@"))))
            .unwrap_or_else(|| panic!("{user} was emailed"));
        link_in(&mail)
    };
    app.at(day(51) + Duration::hours(1));
    let opened = app.browser.get(emailed_link("lost")).send().await.unwrap();
    assert!(opened.status().is_redirection(), "{}", opened.status());

    app.at(day(51) + Duration::hours(2));
    let member = controls
        .members()
        .into_iter()
        .find(|m| m.sub == revoked.member_id.as_str());
    controls.login_as(member);
    let callback = app.consent(&emailed_link("revoked")).await;
    let linked = app.browser.get(callback).send().await.unwrap();
    assert_eq!(linked.status(), StatusCode::OK);
    controls.login_as(None);
    assert_eq!(app.account("revoked").await.status, AccountStatus::Active);

    app.sweep_at(end()).await;
    assert_eq!(app.account("lost").await.status, AccountStatus::Expired);
    assert_eq!(app.account("no-token").await.status, AccountStatus::Expired);
    Some((app, smtp))
}

/// The report of the history over the 30 days before `end()`.
fn expected() -> SuccessReport {
    SuccessReport {
        since: end() - Duration::days(30),
        until: end(),
        due_accounts: 5,
        refreshed_automatically: 2,
        kept_alive_share: Some(0.4),
        reconnect_episodes_opened: 3,
        reconnect_episodes_closed: 1,
        median_time_to_reconnect_seconds: Some(RECONNECT_SECONDS),
        emails_sent: 3,
        emails_link_opened: 2,
        emails_reconnected: 1,
        accounts_lost: 2,
        reconnections_avoided: 2,
        sweeps_started: 3,
        sweeps_completed: 3,
    }
}

async fn every_figure_is_computed_from_the_history(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    let window = Window {
        since: end() - Duration::days(30),
        until: end(),
    };
    let report = SuccessReport::compute(app.store.as_ref(), window)
        .await
        .unwrap();
    assert_eq!(report, expected());
}

/// Runs `tokenkeeper report` on the app's database with `args`, with no encryption key.
pub async fn report_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    let c = &app.config;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .arg("report")
        .args(args)
        .env_clear()
        .env("TOKENKEEPER_DATABASE_URL", c.database_url.expose())
        .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", &c.linkedin.client_id)
        .env(
            "TOKENKEEPER_LINKEDIN__CLIENT_SECRET",
            c.linkedin.client_secret.expose_secret(),
        )
        .env(
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            c.connect.signing_key.expose_secret(),
        );
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

pub fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Every whole number of the text, line by line, in the order printed (the percentage and
/// the median's parts included).
fn numbers_by_line(text: &str) -> BTreeMap<String, Vec<f64>> {
    text.lines()
        .filter_map(|line| {
            let (label, value) = line.split_once("  ")?;
            let numbers = value
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter_map(|n| n.parse().ok())
                .collect();
            Some((label.trim().to_owned(), numbers))
        })
        .collect()
}

async fn the_command_prints_the_figures_as_text_and_as_the_same_json(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    let as_of = end().to_rfc3339();
    let text = stdout(&report_command(&app, &["--since", "30d", "--as-of", &as_of]).await);
    let json = stdout(&report_command(&app, &["--json", "--as-of", &as_of]).await);
    let json: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");

    let e = expected();
    let figure = |name: &str| {
        json[name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {json}"))
    };
    assert_eq!(
        json["since"],
        e.since.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert_eq!(
        json["until"],
        e.until.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert_eq!(figure("kept_alive_share"), 0.4);
    assert_eq!(
        figure("median_time_to_reconnect_seconds"),
        RECONNECT_SECONDS as f64
    );
    let median = figure("median_time_to_reconnect_seconds") as i64 / 60;
    let by_line = numbers_by_line(&text);
    let shown: BTreeMap<&str, Vec<f64>> = [
        (
            "Kept alive without the member",
            vec![
                figure("refreshed_automatically"),
                figure("due_accounts"),
                (figure("kept_alive_share") * 1000.0).round() / 10.0,
            ],
        ),
        (
            "Reconnections avoided",
            vec![figure("reconnections_avoided")],
        ),
        (
            "Reconnect episodes",
            vec![
                figure("reconnect_episodes_opened"),
                figure("reconnect_episodes_closed"),
            ],
        ),
        (
            "Median time to reconnect",
            [median / 1440, median / 60 % 24, median % 60]
                .map(|n| n as f64)
                .to_vec(),
        ),
        (
            "Email funnel",
            vec![
                figure("emails_sent"),
                figure("emails_link_opened"),
                figure("emails_reconnected"),
            ],
        ),
        ("Accounts lost", vec![figure("accounts_lost")]),
        (
            "Sweeps",
            vec![figure("sweeps_started"), figure("sweeps_completed")],
        ),
    ]
    .into();
    for (label, numbers) in &shown {
        assert_eq!(by_line.get(*label), Some(numbers), "{label}:\n{text}");
    }
    assert_eq!(figure("due_accounts"), e.due_accounts as f64);
    assert_eq!(figure("emails_link_opened"), e.emails_link_opened as f64);
    assert_eq!(figure("accounts_lost"), e.accounts_lost as f64);

    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("success_report", text);
    });
}

async fn an_earlier_since_leaves_older_events_out(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    // Ten days back from day 61: the sweeps and emails of day 50 are out; the reconnect and
    // the link opened on day 51, the deaths of day 60 and the last sweep are in.
    let output = report_command(
        &app,
        &["--since", "240h", "--json", "--as-of", &end().to_rfc3339()],
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let report: BTreeMap<String, serde_json::Value> = serde_json::from_value(json).unwrap();
    let expected = SuccessReport {
        since: day(51),
        due_accounts: 0,
        refreshed_automatically: 0,
        kept_alive_share: None,
        reconnect_episodes_opened: 0,
        emails_sent: 0,
        emails_link_opened: 0,
        emails_reconnected: 0,
        reconnections_avoided: 0,
        sweeps_started: 1,
        sweeps_completed: 1,
        ..expected()
    };
    let expected: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(serde_json::to_value(&expected).unwrap()).unwrap();
    assert_eq!(report, expected);

    // Absurd windows are refused by name, before the database is read.
    for (since, says) in [
        ("-5d", "negative"),
        ("0h", "no time at all"),
        ("20000d", "ten years"),
    ] {
        let output = report_command(&app, &["--since", since]).await;
        assert!(!output.status.success(), "--since {since}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "--since {since}: {stderr}");
    }
}

async fn the_gauges_show_the_figures_after_the_last_sweep(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    // The history ran three sweeps through the service's own engine.
    // A bound, not a pause: the report comes within moments, or the refresh is broken.
    let shown = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        app.success_report.wait_after_sweeps(3),
    )
    .await
    .expect("the gauges are recomputed after a sweep");
    assert_eq!(*shown, expected());
    let values = metric_values(&app).await;
    let gauges: BTreeMap<String, f64> = only(
        &values,
        &[
            "tokenkeeper_report_window_seconds",
            "tokenkeeper_report_updated_timestamp_seconds",
            "tokenkeeper_report_due_accounts",
            "tokenkeeper_report_refreshed_automatically_accounts",
            "tokenkeeper_report_kept_alive_ratio",
            "tokenkeeper_report_reconnect_episodes",
            "tokenkeeper_report_median_time_to_reconnect_seconds",
            "tokenkeeper_report_emails",
            "tokenkeeper_report_accounts_lost",
            "tokenkeeper_report_reconnections_avoided",
            "tokenkeeper_report_sweeps",
        ],
    );
    let expected: BTreeMap<String, f64> = [
        ("tokenkeeper_report_window_seconds", 30.0 * 86400.0),
        (
            "tokenkeeper_report_updated_timestamp_seconds",
            end().timestamp() as f64,
        ),
        ("tokenkeeper_report_due_accounts", 5.0),
        ("tokenkeeper_report_refreshed_automatically_accounts", 2.0),
        ("tokenkeeper_report_kept_alive_ratio", 0.4),
        (
            "tokenkeeper_report_reconnect_episodes{event=\"opened\"}",
            3.0,
        ),
        (
            "tokenkeeper_report_reconnect_episodes{event=\"closed\"}",
            1.0,
        ),
        (
            "tokenkeeper_report_median_time_to_reconnect_seconds",
            RECONNECT_SECONDS as f64,
        ),
        ("tokenkeeper_report_emails{stage=\"sent\"}", 3.0),
        ("tokenkeeper_report_emails{stage=\"link_opened\"}", 2.0),
        ("tokenkeeper_report_emails{stage=\"reconnected\"}", 1.0),
        ("tokenkeeper_report_accounts_lost", 2.0),
        ("tokenkeeper_report_reconnections_avoided", 2.0),
        ("tokenkeeper_report_sweeps{outcome=\"started\"}", 3.0),
        ("tokenkeeper_report_sweeps{outcome=\"completed\"}", 3.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(gauges, expected);
}
