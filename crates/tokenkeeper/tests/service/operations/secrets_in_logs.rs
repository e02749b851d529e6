//! No secret reaches the logs, in either format (human and JSON), on any path: linking,
//! refreshing, a permanent, transient or misconfigured refresh failure, every way a callback
//! can fail, and an authenticated SMTP conversation. Each secret is looked for as written and
//! as the base64 an SMTP AUTH would carry.

use crate::backend_tests;
use crate::email::smtp::SmtpServer;
use crate::support::{spawn, t0, Setup, TestApp, API_KEY};
use chrono::Duration;
use fake_linkedin::{Consent, Endpoint, Fault};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use std::sync::{Arc, Mutex};
use test_databases::Backend;
use tokenkeeper::domain::{Account, AccountStatus};
use tracing_subscriber::layer::SubscriberExt;
use url::Url;

backend_tests!(no_secret_reaches_either_log_format);

const SMTP_USER: &str = "mailer";
const SMTP_PASSWORD: &str = "smtp-password-0123456789";

/// Everything one log layer wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The text, without the terminal colours the human format adds (a colour code inside a
    /// secret would hide it from a plain search).
    fn text(&self) -> String {
        let raw = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// The code and state LinkedIn sent the browser back with.
fn code_and_state(callback: &Url) -> Vec<String> {
    callback
        .query_pairs()
        .filter(|(k, _)| k == "code" || k == "state")
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn tokens_of(account: &Account) -> Vec<String> {
    let mut out = vec![account.token.expose().to_owned()];
    out.extend(account.refresh_token.iter().map(|t| t.expose().to_owned()));
    out
}

/// Runs the connect flow for `user_id` up to the callback, with `fault` on `endpoint` while
/// the callback is answered; returns the callback's status and the code and state it carried.
async fn failed_callback(
    app: &TestApp,
    user_id: &str,
    endpoint: Endpoint,
    fault: Fault,
) -> (StatusCode, Vec<String>) {
    let link = app
        .connect_link(user_id, &format!("{user_id}@example.com"), None)
        .await;
    let callback = app.consent(&link).await;
    app.fake.controls().inject_fault(endpoint, fault, None);
    let status = app
        .browser
        .get(callback.clone())
        .send()
        .await
        .unwrap()
        .status();
    app.fake.controls().clear_faults();
    (status, code_and_state(&callback))
}

fn invalid_client() -> Fault {
    Fault::Respond {
        status: 401,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#
            .into(),
    }
}

async fn no_secret_reaches_either_log_format(backend: Backend) {
    let human = Captured::default();
    let json = Captured::default();
    let (h, j) = (human.clone(), json.clone());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(
            "debug,tokenkeeper=trace,fake_linkedin=off",
        ))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(true)
                .with_writer(move || h.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(move || j.clone()),
        );
    // Tests run on a current-thread runtime, so every task of this test logs here.
    let _guard = tracing::subscriber::set_default(subscriber);

    let setup = Setup::default()
        .var("SMTP__USERNAME", SMTP_USER)
        .var("SMTP__PASSWORD", SMTP_PASSWORD)
        .var("REFRESH__MAX_ATTEMPTS", 2);
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    // Another test running at the same time may have cached a call site's interest before
    // this subscriber existed; ask every call site again.
    tracing::callsite::rebuild_interest_cache();
    let mut secrets: Vec<String> = vec![
        API_KEY.to_owned(),
        app.config.linkedin.client_secret.expose_secret().to_owned(),
        app.config.connect.signing_key.expose_secret().to_owned(),
        SMTP_PASSWORD.to_owned(),
    ];

    // Linking: the tokens, and the code and state of the callback.
    for user in ["ada", "bo", "cy"] {
        let link = app
            .connect_link(user, &format!("{user}@example.com"), None)
            .await;
        let callback = app.consent(&link).await;
        let answer = app.browser.get(callback.clone()).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{user} links");
        secrets.extend(code_and_state(&callback));
        secrets.extend(tokens_of(&app.account(user).await));
        if user == "ada" {
            // A replayed callback: its code and state are used up.
            let replay = app.browser.get(callback).send().await.unwrap();
            assert!(replay.status().is_client_error(), "{}", replay.status());
        }
    }

    // Every way a callback can fail.
    let (status, seen) =
        failed_callback(&app, "fail-exchange", Endpoint::Token, Fault::Status(503)).await;
    assert!(!status.is_success(), "{status}");
    secrets.extend(seen);
    let (status, seen) = failed_callback(
        &app,
        "fail-userinfo",
        Endpoint::Userinfo,
        Fault::Status(500),
    )
    .await;
    assert!(!status.is_success(), "{status}");
    secrets.extend(seen);
    let (status, seen) =
        failed_callback(&app, "fail-client", Endpoint::Token, invalid_client()).await;
    assert!(!status.is_success(), "{status}");
    secrets.extend(seen);
    app.fake.controls().set_consent(Consent::CancelAuthorize);
    let link = app
        .connect_link("fail-cancel", "fail-cancel@example.com", None)
        .await;
    let callback = app.consent(&link).await;
    secrets.extend(code_and_state(&callback));
    app.browser.get(callback).send().await.unwrap();
    app.fake.controls().set_consent(Consent::Approve);
    // Someone else's browser, without the flow's cookie, presents a valid code and state.
    let link = app
        .connect_link("fail-cookie", "fail-cookie@example.com", None)
        .await;
    let callback = app.consent(&link).await;
    secrets.extend(code_and_state(&callback));
    let stranger = crate::support::new_browser()
        .get(callback)
        .send()
        .await
        .unwrap();
    assert!(stranger.status().is_client_error(), "{}", stranger.status());

    // Refresh: ada refreshes, bo was revoked (permanent), cy keeps failing (transient).
    let bo = app.account("bo").await;
    let cy = app.account("cy").await;
    app.fake.controls().revoke_member(bo.member_id.as_str());
    app.fake
        .controls()
        .inject_member_fault(cy.member_id.as_str(), Fault::Status(500), None);
    app.sweep_at(t0() + Duration::days(50)).await;
    let ada = app.account("ada").await;
    assert!(ada.last_refreshed_at.is_some(), "ada was refreshed");
    secrets.extend(tokens_of(&ada));
    assert_eq!(
        app.account("bo").await.status,
        AccountStatus::NeedsReconnect
    );
    assert_eq!(
        app.account("cy").await.status,
        AccountStatus::RefreshFailing
    );
    app.fake.controls().clear_faults();

    // Misconfiguration: LinkedIn no longer accepts our client.
    app.at(t0() + Duration::days(1));
    let dee = app.linked("dee").await;
    secrets.extend(tokens_of(&dee));
    app.fake
        .controls()
        .inject_member_fault(dee.member_id.as_str(), invalid_client(), None);
    let report = app.sweep_at(t0() + Duration::days(51)).await;
    assert!(
        format!("{report:?}").contains("isconfigur"),
        "the sweep stopped as misconfigured: {report:?}"
    );

    // Mail: a server that refuses our password, then one that takes it.
    let refusing = SmtpServer::start().await;
    refusing.require_auth(SMTP_USER, "another-password");
    assert!(
        app.delivery(refusing.port)
            .send_pending()
            .await
            .unwrap()
            .retrying
            >= 1
    );
    let smtp = SmtpServer::start().await;
    smtp.require_auth(SMTP_USER, SMTP_PASSWORD);
    app.at(app.clock_now() + Duration::hours(1));
    assert!(app.delivery(smtp.port).send_pending().await.unwrap().sent >= 1);
    assert!(smtp.authenticated().iter().all(|u| u == SMTP_USER));
    assert!(
        !smtp.authenticated().is_empty(),
        "the mail worker signed in"
    );

    let (human, json) = (human.text(), json.text());
    // The paths above were logged, in both formats.
    for (format, logs) in [("human", &human), ("json", &json)] {
        for expected in [
            "token refreshed",
            "member must reconnect",
            "refresh call failed",
            "connect flow failed at LinkedIn",
            "email sent",
            "email not sent; will retry",
        ] {
            assert!(logs.contains(expected), "{format} logs lack {expected:?}");
        }
        for class in ["permanent", "transient", "misconfiguration"] {
            assert!(
                logs.contains(class),
                "{format} logs lack the {class} failure"
            );
        }
    }
    for line in json.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    }

    // Tokens of sign-ins that failed after the code exchange were never stored; LinkedIn
    // (the fake) knows them.
    let issued = app.fake.controls().issued_tokens();
    assert!(issued.len() > 8, "{} tokens issued", issued.len());
    secrets.extend(issued);
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    secrets.push(b64(&format!("\0{SMTP_USER}\0{SMTP_PASSWORD}")));
    secrets.push(b64(SMTP_PASSWORD));
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 20, "{} secrets", secrets.len());
    for secret in &secrets {
        assert!(
            secret.len() >= 8,
            "a secret too short to search for: {secret}"
        );
        for (format, logs) in [("human", &human), ("json", &json)] {
            if let Some(at) = logs.find(secret.as_str()) {
                let line_start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
                panic!(
                    "a secret reached the {format} logs: {}",
                    &logs[line_start..line_end]
                );
            }
        }
    }
}
