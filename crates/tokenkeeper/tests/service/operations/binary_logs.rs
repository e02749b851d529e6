//! The real binary's logs, as an operator gets them with `log.format = human` and `json`:
//! sweeps that refresh and fail for good, and emails over an authenticated SMTP conversation,
//! leave no token, password or key on stderr, and JSON logs are one JSON object a line.

use crate::email::smtp::SmtpServer;
use crate::service_tests;
use crate::support::{spawn_app, t0, TestApp, API_KEY};
use chrono::Duration;
use fake_linkedin::FakeConfig;
use secrecy::ExposeSecret;
use std::process::Output;
use test_databases::Backend;

const SMTP_USER: &str = "mailer";
const SMTP_PASSWORD: &str = "smtp-password-9876543210";

/// The variables of a production-like run against the test's database, fake LinkedIn and
/// SMTP server, logging at debug in `format`.
fn variables(app: &TestApp, smtp_port: u16, format: &str) -> Vec<(String, String)> {
    let defaults = FakeConfig::default();
    [
        ("DATABASE_URL", app.config.database_url.expose().to_owned()),
        ("LINKEDIN__CLIENT_ID", defaults.client_id),
        ("LINKEDIN__CLIENT_SECRET", defaults.client_secret),
        ("LINKEDIN__AUTHORIZE_URL", app.fake.authorize_url()),
        ("LINKEDIN__TOKEN_URL", app.fake.token_url()),
        ("LINKEDIN__INTROSPECT_URL", app.fake.introspect_url()),
        ("LINKEDIN__USERINFO_URL", app.fake.userinfo_url()),
        (
            "CONNECT__SIGNING_KEY",
            app.config.connect.signing_key.expose_secret().to_owned(),
        ),
        ("API__API_KEY", API_KEY.to_owned()),
        ("REFRESH__RETRY_INITIAL_MS", "20".to_owned()),
        ("SMTP__HOST", "127.0.0.1".to_owned()),
        ("SMTP__PORT", smtp_port.to_string()),
        ("SMTP__SECURITY", "none".to_owned()),
        ("SMTP__USERNAME", SMTP_USER.to_owned()),
        ("SMTP__PASSWORD", SMTP_PASSWORD.to_owned()),
        ("LOG__FORMAT", format.to_owned()),
        ("LOG__LEVEL", "debug".to_owned()),
        (
            "ENCRYPTION__KEYS",
            crate::support::ENCRYPTION_KEYS.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v))
    .collect()
}

async fn tokenkeeper(args: &[&str], vars: Vec<(String, String)>) -> (Output, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command.args(args).env_clear().envs(vars);
    let output = tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{args:?}: {stderr}");
    (output, stderr)
}

fn assert_json_lines(logs: &str) {
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value.is_object(), "{line}");
    }
}

service_tests!(the_binarys_logs_hold_no_secret_in_either_format);
async fn the_binarys_logs_hold_no_secret_in_either_format() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    smtp.require_auth(SMTP_USER, SMTP_PASSWORD);
    let mut accounts = vec![app.linked("ada").await, app.linked("bo").await];
    app.at(t0() + Duration::days(10));
    accounts.push(app.linked("cy").await);
    accounts.push(app.linked("dee").await);
    for gone in ["bo", "dee"] {
        let member = app.account(gone).await.member_id;
        app.fake.controls().revoke_member(member.as_str());
    }

    // Human: ada is refreshed, bo must reconnect.
    let day50 = t0() + Duration::days(50);
    app.at(day50);
    let as_of = day50.to_rfc3339();
    let (_, human) = tokenkeeper(
        &["sweep", "--as-of", &as_of],
        variables(&app, smtp.port, "human"),
    )
    .await;
    // JSON: cy is refreshed, dee must reconnect; then the emails go out.
    let day60 = t0() + Duration::days(60);
    app.at(day60);
    let as_of = day60.to_rfc3339();
    let (_, mut json) = tokenkeeper(
        &["sweep", "--as-of", &as_of],
        variables(&app, smtp.port, "json"),
    )
    .await;
    let (sent, mail_json) = tokenkeeper(
        &["notify", "send-pending"],
        variables(&app, smtp.port, "json"),
    )
    .await;
    json.push_str(&mail_json);
    assert!(
        String::from_utf8_lossy(&sent.stdout).starts_with("sent 4,"),
        "two members, each a first email and a reminder now due"
    );
    let (_, mail_human) = tokenkeeper(
        &["notify", "test", "--to", "ops@example.com"],
        variables(&app, smtp.port, "human"),
    )
    .await;
    let human = human + &mail_human;
    assert_eq!(smtp.authenticated().len(), 2, "each run signed in");

    for (format, logs) in [("human", &human), ("json", &json)] {
        for expected in ["token refreshed", "member must reconnect"] {
            assert!(
                logs.contains(expected),
                "{format} lacks {expected:?}: {logs}"
            );
        }
    }
    assert!(json.contains("email sent"), "{json}");
    assert_json_lines(&json);
    assert!(
        human.lines().all(|l| !l.starts_with('{')),
        "human logs are not JSON: {human}"
    );
    // stderr is a pipe here, as under systemd or `> serve.log`: no colour codes in a file.
    assert!(
        !human.contains('\x1b'),
        "human logs to a pipe carry terminal colour codes: {human:?}"
    );

    for account in ["ada", "cy"] {
        accounts.push(app.account(account).await);
    }
    let mut secrets: Vec<String> = accounts
        .iter()
        .flat_map(|a| {
            std::iter::once(a.token.expose().to_owned())
                .chain(a.refresh_token.iter().map(|t| t.expose().to_owned()))
        })
        .collect();
    secrets.extend(app.fake.controls().issued_tokens());
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    secrets.extend([
        API_KEY.to_owned(),
        FakeConfig::default().client_secret,
        app.config.connect.signing_key.expose_secret().to_owned(),
        SMTP_PASSWORD.to_owned(),
        b64(SMTP_PASSWORD),
        b64(&format!("\0{SMTP_USER}\0{SMTP_PASSWORD}")),
    ]);
    secrets.sort();
    secrets.dedup();
    // Four accounts' first tokens, two refreshed ones, and the six others.
    assert!(secrets.len() >= 16, "{} secrets", secrets.len());
    for secret in &secrets {
        for (format, logs) in [("human", &human), ("json", &json)] {
            if let Some(line) = logs.lines().find(|l| l.contains(secret.as_str())) {
                panic!("a secret reached the {format} logs: {line}");
            }
        }
    }
}
