//! The success report per provider, with accounts of two: LinkedIn members linked through
//! the connect flow and refreshed by a sweep against the fake LinkedIn, and an X member whose
//! reconnect email goes out over SMTP. Each provider's figures are its own, the totals are
//! unchanged, and the command (text and JSON) and the gauges show both.

use crate::backend_tests;
use crate::email::smtp::SmtpServer;
use crate::operations::success_report::{report_command, stdout};
use crate::storage::rules::linked;
use crate::support::metric_values::{metric_values, only};
use crate::support::{spawn, t0, Setup, TestApp};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use test_databases::Backend;
use tokenkeeper::domain::{NotificationPolicy, ProviderName};
use tokenkeeper::report::{ProviderFigures, SuccessReport};
use tokenkeeper::store::Window;

backend_tests!(
    each_provider_has_its_own_figures_and_the_totals_hold_them_all,
    the_command_shows_a_section_per_provider,
);
backend_tests!(in_own_process: the_gauges_carry_each_provider_s_figures);

fn x() -> ProviderName {
    ProviderName::parse("x").unwrap()
}

fn day(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

/// Two LinkedIn members linked at t0 and refreshed by the day-50 sweep; one X member linked
/// on day 20 (not yet due) whose reconnect email is sent on day 50.
async fn history(backend: Backend) -> Option<(TestApp, SmtpServer)> {
    let setup = Setup::default()
        .var("PROVIDERS__X__KIND", "x")
        .var("PROVIDERS__X__CLIENT_ID", "x-app");
    let app = spawn(backend, setup).await?;
    let smtp = SmtpServer::start().await;
    app.linked("ada").await;
    app.linked("bob").await;
    let carol = app
        .store
        .save_linked_account(&linked("carol", day(20), true).through(x()))
        .await
        .unwrap();
    app.at(day(50));
    let email = NotificationPolicy::default().on_permanent_failure(&carol, day(50));
    app.store.add_notifications(&email, day(50)).await.unwrap();
    assert_eq!(
        app.delivery(smtp.port).send_pending().await.unwrap().sent,
        1
    );
    app.sweep_at(day(50)).await;
    Some((app, smtp))
}

fn window() -> Window {
    Window {
        since: day(51) - Duration::days(30),
        until: day(51),
    }
}

fn linkedin_figures() -> ProviderFigures {
    ProviderFigures {
        accounts: 2,
        due_accounts: 2,
        refreshed_automatically: 2,
        kept_alive_share: Some(1.0),
        reconnect_episodes_opened: 0,
        reconnect_episodes_closed: 0,
        median_time_to_reconnect_seconds: None,
        emails_sent: 0,
        emails_link_opened: 0,
        emails_reconnected: 0,
        accounts_lost: 0,
        reconnections_avoided: 2,
    }
}

fn x_figures() -> ProviderFigures {
    ProviderFigures {
        accounts: 1,
        due_accounts: 0,
        refreshed_automatically: 0,
        kept_alive_share: None,
        reconnect_episodes_opened: 1,
        emails_sent: 1,
        reconnections_avoided: 0,
        ..linkedin_figures()
    }
}

async fn each_provider_has_its_own_figures_and_the_totals_hold_them_all(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    let by_provider = ProviderFigures::compute(app.store.as_ref(), window())
        .await
        .unwrap();
    let expected: BTreeMap<ProviderName, ProviderFigures> = [
        (ProviderName::linkedin(), linkedin_figures()),
        (x(), x_figures()),
    ]
    .into();
    assert_eq!(by_provider, expected);

    let total = SuccessReport::compute(app.store.as_ref(), window())
        .await
        .unwrap();
    assert_eq!(
        (
            total.due_accounts,
            total.refreshed_automatically,
            total.reconnect_episodes_opened,
            total.emails_sent,
            total.reconnections_avoided,
            total.sweeps_started,
        ),
        (2, 2, 1, 1, 2, 1)
    );
}

async fn the_command_shows_a_section_per_provider(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    let as_of = day(51).to_rfc3339();
    let json = stdout(&report_command(&app, &["--json", "--as-of", &as_of]).await);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["emails_sent"], 1, "the totals stay where they were");
    assert_eq!(json["due_accounts"], 2);
    let by_provider = &json["by_provider"];
    assert_eq!(
        by_provider["linkedin"],
        serde_json::to_value(linkedin_figures()).unwrap()
    );
    assert_eq!(by_provider["x"], serde_json::to_value(x_figures()).unwrap());

    let text = stdout(&report_command(&app, &["--as-of", &as_of]).await);
    let linkedin = text.find("\nlinkedin: 2 accounts\n").expect(&text);
    let x = text.find("\nx: 1 account\n").expect(&text);
    assert!(linkedin < x, "{text}");
    let x_section = &text[x..];
    assert!(
        x_section
            .contains("Email funnel                    1 sent -> 0 link opened -> 0 reconnected"),
        "{text}"
    );
    assert!(
        x_section.contains("Reconnect episodes              1 opened, 0 closed"),
        "{text}"
    );
    assert!(
        !x_section.contains("Sweeps"),
        "a sweep is no provider's: {text}"
    );
    let linkedin_section = &text[linkedin..x];
    assert!(
        linkedin_section.contains("Kept alive without the member   2 of 2 due accounts (100.0%)"),
        "{text}"
    );
}

async fn the_gauges_carry_each_provider_s_figures(backend: Backend) {
    let Some((app, _smtp)) = history(backend).await else {
        return;
    };
    // A bound, not a pause: the report comes within moments of the sweep, or it is broken.
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        app.success_report.wait_after_sweeps(1),
    )
    .await
    .expect("the gauges are recomputed after a sweep");
    let values = metric_values(&app).await;
    let shown = only(
        &values,
        &[
            "tokenkeeper_report_provider_accounts",
            "tokenkeeper_report_provider_due_accounts",
            "tokenkeeper_report_provider_emails",
        ],
    );
    let expected: BTreeMap<String, f64> = [
        (
            "tokenkeeper_report_provider_accounts{provider=\"linkedin\"}",
            2.0,
        ),
        ("tokenkeeper_report_provider_accounts{provider=\"x\"}", 1.0),
        (
            "tokenkeeper_report_provider_due_accounts{provider=\"linkedin\"}",
            2.0,
        ),
        (
            "tokenkeeper_report_provider_due_accounts{provider=\"x\"}",
            0.0,
        ),
        (
            "tokenkeeper_report_provider_emails{provider=\"linkedin\",stage=\"link_opened\"}",
            0.0,
        ),
        (
            "tokenkeeper_report_provider_emails{provider=\"linkedin\",stage=\"reconnected\"}",
            0.0,
        ),
        (
            "tokenkeeper_report_provider_emails{provider=\"linkedin\",stage=\"sent\"}",
            0.0,
        ),
        (
            "tokenkeeper_report_provider_emails{provider=\"x\",stage=\"link_opened\"}",
            0.0,
        ),
        (
            "tokenkeeper_report_provider_emails{provider=\"x\",stage=\"reconnected\"}",
            0.0,
        ),
        (
            "tokenkeeper_report_provider_emails{provider=\"x\",stage=\"sent\"}",
            1.0,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(shown, expected);
    // The totals keep their unlabelled series: the sum of the providers'.
    assert_eq!(values.get("tokenkeeper_report_due_accounts"), Some(&2.0));
}
