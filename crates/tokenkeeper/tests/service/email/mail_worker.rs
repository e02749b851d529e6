//! Emails leave by themselves: the mail worker inside `serve` delivers what is due without
//! anyone asking, and `tokenkeeper notify send-pending` (for cron users) delivers what is due,
//! once, and exits 0.

use crate::backend_tests;
use crate::email::notify::members_to_email;
use crate::email::smtp::SmtpServer;
use crate::service_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::{spawn, spawn_app, t0, Setup};
use chrono::{Duration, TimeZone, Utc};
use fake_linkedin::FakeConfig;
use std::time::Duration as StdDuration;
use test_databases::Backend;
use tokenkeeper::domain::NotificationStatus;

backend_tests!(serve_delivers_due_emails_by_itself);

/// Long enough for a slow machine; the worker looks every second.
const ARRIVAL: StdDuration = StdDuration::from_secs(20);

async fn serve_delivers_due_emails_by_itself(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let setup = Setup::default()
        .var("SMTP__HOST", "127.0.0.1")
        .var("SMTP__PORT", smtp.port)
        .var("SMTP__SECURITY", "none")
        .var("SMTP__POLL_SECONDS", 1);
    let logs = LogCapture::start("tokenkeeper=info,sqlx::query=debug", LogFormat::Json);
    let Some(mut app) = spawn(backend, setup).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    members_to_email(&app, 2).await;

    let mails = tokio::time::timeout(ARRIVAL, smtp.wait_for(2))
        .await
        .expect("the mail worker of serve sends the due emails");
    let mut to: Vec<_> = mails.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(to, ["<user-0@example.com>", "<user-1@example.com>"]);
    // The first email of each episode, not the reminder that waits for its day. (Whether
    // the rows are marked sent is `send_pending`'s promise, tested on its own: here the
    // server may have accepted a message a moment before the worker records it.)
    for mail in &mails {
        let subject = mail.header("Subject").unwrap();
        assert!(subject.starts_with("Please reconnect"), "{subject}");
    }
    assert_ne!(mails[0].header("Message-ID"), mails[1].header("Message-ID"));
    // The operator sees each pass that sent something, with its counts, and no idle pass.
    logs.assert_worker_passes(backend, "email delivery pass", "sent", 2, "notifications")
        .await;
    drop(app.shutdown.take());
    tokio::time::timeout(ARRIVAL, &mut app.server)
        .await
        .expect("serve stops with its mail worker")
        .unwrap();
}

/// Runs the built binary with exactly these variables (no TOKENKEEPER_* from outside).
async fn tokenkeeper(args: &[&str], vars: Vec<(String, String)>) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command.args(args).env_clear().envs(vars);
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

service_tests!(notify_send_pending_delivers_what_is_due_and_exits_zero);
async fn notify_send_pending_delivers_what_is_due_and_exits_zero() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    // Ada's email (and its reminder) fell due long ago; Bo's episode happens in the future,
    // so nothing of it is due by the real clock the command reads.
    members_to_email(&app, 1).await;
    let future = Utc.with_ymd_and_hms(2099, 1, 1, 8, 0, 0).unwrap();
    app.at(future);
    app.linked("bo").await;
    app.sweep_at(future + Duration::days(50)).await;
    assert!(t0() < Utc::now() && Utc::now() < future);

    let vars: Vec<(String, String)> = [
        ("DATABASE_URL", app.config.database_url.expose().to_owned()),
        ("LINKEDIN__CLIENT_ID", FakeConfig::default().client_id),
        (
            "LINKEDIN__CLIENT_SECRET",
            FakeConfig::default().client_secret,
        ),
        (
            "CONNECT__SIGNING_KEY",
            "test-signing-key-0123456789abcdef0123".to_owned(),
        ),
        ("SMTP__HOST", "127.0.0.1".to_owned()),
        ("SMTP__PORT", smtp.port.to_string()),
        ("SMTP__SECURITY", "none".to_owned()),
        (
            "ENCRYPTION__KEYS",
            crate::support::ENCRYPTION_KEYS.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v))
    .collect();
    let output = tokenkeeper(&["notify", "send-pending"], vars.clone()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "sent 2, retrying later 0, failed 0, cancelled 0, skipped 0"
    );
    let subjects: Vec<_> = smtp
        .received()
        .iter()
        .map(|m| (m.to[0].clone(), m.header("Subject").unwrap()))
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().all(|(to, _)| to == "<user-0@example.com>"));
    assert!(
        subjects[0].1.starts_with("Please reconnect"),
        "{subjects:?}"
    );
    assert!(subjects[1].1.starts_with("Reminder:"), "{subjects:?}");
    let bo = app.account("bo").await;
    let waiting: Vec<_> = app
        .store
        .notifications_for(bo.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.status)
        .collect();
    assert_eq!(waiting, [NotificationStatus::Pending; 2]);

    // Once: a second run finds nothing left to send.
    let again = tokenkeeper(&["notify", "send-pending"], vars).await;
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "sent 0, retrying later 0, failed 0, cancelled 0, skipped 0"
    );
    assert_eq!(smtp.received().len(), 2);
}
