//! deploy/alerts.yml against the service: the file is well-formed Prometheus rules, each rule
//! reads only metrics a running service exports (after one scheduled slot, one sweep and one
//! email), the dashboard's alert cases each have a rule, and docs/operating.md explains each alert.

use crate::email::notify::members_to_email;
use crate::email::smtp::SmtpServer;
use crate::service_tests;
use crate::support::metric_values::metric_values;
use crate::support::{spawn, Setup, TestApp};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use test_databases::Backend;
use tokenkeeper::domain::Schedule;
use tokenkeeper::readiness::SchedulerProgress;
use tokenkeeper::workers::Scheduler;
use tokio_util::sync::CancellationToken;
use yaml_rust2::{Yaml, YamlLoader};

service_tests!(in_own_process: alert_rules_read_only_metrics_the_service_exports);
service_tests!(alert_rules_cover_the_dashboard_and_the_readme_explains_each);

/// What the dashboard alerts on, each by the rule that carries it.
const DASHBOARD_ALERTS: [&str; 4] = [
    "TokenkeeperLinkedInMisconfigured",
    "TokenkeeperLinkedInDegraded",
    "TokenkeeperSchedulerLate",
    "TokenkeeperEmailsFailing",
];

fn repository_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

struct Rule {
    alert: String,
    expr: String,
}

/// Every alerting rule of deploy/alerts.yml, checked for the fields Prometheus and the
/// people paged need.
fn rules() -> Vec<Rule> {
    let docs = YamlLoader::load_from_str(&repository_file("deploy/alerts.yml"))
        .expect("deploy/alerts.yml is YAML");
    let groups = docs[0]["groups"].as_vec().expect("a list of groups");
    let mut rules = Vec::new();
    for group in groups {
        assert!(group["name"].as_str().is_some(), "a group has a name");
        for rule in group["rules"].as_vec().expect("a group has rules") {
            let alert = rule["alert"]
                .as_str()
                .expect("every rule alerts")
                .to_owned();
            let expr = rule["expr"]
                .as_str()
                .expect("every rule has an expr")
                .to_owned();
            let severity = rule["labels"]["severity"].as_str();
            assert!(
                matches!(severity, Some("critical" | "warning")),
                "{alert}: severity {severity:?}"
            );
            for annotation in ["summary", "description"] {
                assert!(
                    rule["annotations"][annotation].as_str().is_some(),
                    "{alert}: no {annotation}"
                );
            }
            if let Yaml::String(wait) = &rule["for"] {
                assert!(
                    wait.ends_with('m') || wait.ends_with('s') || wait.ends_with('h'),
                    "{alert}: for {wait}"
                );
            }
            rules.push(Rule { alert, expr });
        }
    }
    rules
}

/// The metric names an expression reads: ours all begin with `tokenkeeper_`.
fn metrics_read(expr: &str) -> BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("tokenkeeper_") {
        let preceded = rest[..at].chars().next_back().is_some_and(is_name);
        let end = rest[at..]
            .find(|c| !is_name(c))
            .map_or(rest.len(), |e| at + e);
        if !preceded {
            names.insert(rest[at..end].to_owned());
        }
        rest = &rest[end..];
    }
    names
}

/// Runs one scheduler start-up as `serve` does (it catches up the latest slot) and returns.
async fn run_one_slot(app: &TestApp) {
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    Scheduler {
        schedule: Schedule::parse(&app.config.schedule.cron, app.config.schedule.timezone).unwrap(),
        engine: app.engine.clone(),
        store: app.store.clone(),
        clock: app.clock.clone(),
        tick: Duration::from_millis(20),
        shutdown,
        progress: SchedulerProgress::default(),
    }
    .run()
    .await;
}

async fn alert_rules_read_only_metrics_the_service_exports() {
    let smtp = SmtpServer::start().await;
    let setup = Setup::default()
        .var("SMTP__HOST", "127.0.0.1")
        .var("SMTP__PORT", smtp.port)
        .var("SMTP__SECURITY", "none")
        .var("SMTP__POLL_SECONDS", 1);
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    run_one_slot(&app).await;
    members_to_email(&app, 1).await;
    tokio::time::timeout(Duration::from_secs(20), smtp.wait_for(1))
        .await
        .expect("the mail worker sends the email");

    let exported: BTreeSet<String> = metric_values(&app)
        .await
        .into_keys()
        .map(|key| key.split('{').next().unwrap().to_owned())
        .collect();
    let rules = rules();
    let mut read = BTreeSet::new();
    for rule in &rules {
        let names = metrics_read(&rule.expr);
        assert!(!names.is_empty(), "{}: reads no metric of ours", rule.alert);
        for name in names {
            assert!(
                exported.contains(&name),
                "{} reads {name}, which the service does not export; it exports {exported:?}",
                rule.alert
            );
            read.insert(name);
        }
    }
    assert!(read.contains("tokenkeeper_scheduler_next_slot_timestamp_seconds"));
}

async fn alert_rules_cover_the_dashboard_and_the_readme_explains_each() {
    let rules = rules();
    let alerts: Vec<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
    for alert in DASHBOARD_ALERTS {
        assert!(alerts.contains(&alert), "no rule for {alert}: {alerts:?}");
    }
    let unique: BTreeSet<_> = alerts.iter().collect();
    assert_eq!(
        unique.len(),
        alerts.len(),
        "an alert name repeats: {alerts:?}"
    );

    let readme = repository_file("docs/operating.md");
    let production = readme
        .split("\n## Running it in production")
        .nth(1)
        .expect("docs/operating.md has a section \"Running it in production\"");
    let production = production.split("\n## ").next().unwrap();
    for alert in alerts {
        assert!(
            production.contains(&format!("`{alert}`")),
            "the production section of docs/operating.md does not explain `{alert}`"
        );
    }
    assert_eq!(
        metrics_read("rate(tokenkeeper_a_total[5m]) / x_tokenkeeper_b + tokenkeeper_c"),
        BTreeSet::from(["tokenkeeper_a_total".to_owned(), "tokenkeeper_c".to_owned()])
    );
}
