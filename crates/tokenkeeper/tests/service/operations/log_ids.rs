//! Every line a sweep logs names its run, every line about one account names the account, and
//! every line about one email names the notification and its account, even though the work
//! runs in tasks of their own. Checked on every line the sweep and the mail worker emit.

use crate::backend_tests;
use crate::email::notify::members_to_email;
use crate::email::smtp::SmtpServer;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::{spawn, t0, Setup};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use serde_json::Value;
use test_databases::Backend;

backend_tests!(
    sweep_lines_carry_run_and_account_ids,
    delivery_lines_carry_notification_and_account_ids
);

/// What a sweep logs about itself rather than about one account.
const SWEEP_LEVEL: &[&str] = &[
    "sweep started",
    "refresh-token reminders queued",
    "old refresh log rows removed",
    "accounts whose token died before their member reconnected are now expired",
];

const FILTER: &str = "warn,tokenkeeper=debug";

/// The JSON lines logged since `from` bytes of the capture.
fn lines_since(logs: &LogCapture, from: usize) -> Vec<Value> {
    logs.text()[from..]
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect()
}

/// A field of the event itself or of any span it was logged in.
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["fields"].get(name).or_else(|| {
        line["spans"]
            .as_array()?
            .iter()
            .find_map(|span| span.get(name))
    })
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or("")
}

async fn sweep_lines_carry_run_and_account_ids(backend: Backend) {
    let logs = LogCapture::start(FILTER, LogFormat::Json);
    let setup = Setup::default().var("REFRESH__RETRY_INITIAL_MS", 10);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    app.linked("ada").await;
    let bo = app.linked("bo").await;
    app.fake.controls().revoke_member(bo.member_id.as_str());
    // One call fails and is retried: the retry's warning is logged inside the worker.
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(500), Some(1));
    let from = logs.text().len();
    let report = app.sweep_at(t0() + Duration::days(50)).await;
    let run_id = report.run_id.expect("the sweep ran");

    let lines = lines_since(&logs, from);
    let messages: Vec<&str> = lines.iter().map(message).collect();
    for expected in [
        "sweep started",
        "refresh call failed",
        "token refreshed",
        "member must reconnect",
        "sweep finished",
    ] {
        assert!(messages.contains(&expected), "{expected:?} in {messages:?}");
    }
    let accounts = [app.account("ada").await.id, bo.id];
    for line in &lines {
        assert_eq!(
            field(line, "run_id").and_then(Value::as_i64),
            Some(run_id),
            "no run id: {line}"
        );
        let about_the_run =
            SWEEP_LEVEL.contains(&message(line)) || message(line) == "sweep finished";
        if !about_the_run {
            let account = field(line, "account_id").and_then(Value::as_i64);
            assert!(
                account.is_some_and(|id| accounts.contains(&id)),
                "no account id: {line}"
            );
        }
    }
}

async fn delivery_lines_carry_notification_and_account_ids(backend: Backend) {
    let logs = LogCapture::start(FILTER, LogFormat::Json);
    let Some(app) = spawn(backend, Setup::default()).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    members_to_email(&app, 2).await;

    let from = logs.text().len();
    smtp.set_down(true);
    assert_eq!(worker.send_pending().await.unwrap().retrying, 2);
    smtp.set_down(false);
    app.at(app.clock_now() + Duration::minutes(2));
    assert_eq!(worker.send_pending().await.unwrap().sent, 2);

    let lines = lines_since(&logs, from);
    let messages: Vec<&str> = lines.iter().map(message).collect();
    for expected in ["email not sent; will retry", "email sent"] {
        assert!(messages.contains(&expected), "{expected:?} in {messages:?}");
    }
    let mut notifications = Vec::new();
    for name in ["user-0", "user-1"] {
        let account = app.account(name).await;
        let stored = app.store.notifications_for(account.id).await.unwrap();
        notifications.extend(stored.iter().map(|n| (n.id, account.id)));
    }
    for line in &lines {
        let notification = field(line, "notification_id").and_then(Value::as_i64);
        let account = field(line, "account_id").and_then(Value::as_i64);
        let (Some(notification), Some(account)) = (notification, account) else {
            panic!("a delivery line without its ids: {line}");
        };
        assert!(
            notifications.contains(&(notification, account)),
            "ids of another email: {line}"
        );
    }
}
