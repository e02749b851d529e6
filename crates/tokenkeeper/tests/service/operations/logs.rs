//! Tokens and secrets never reach the logs, whatever happens.

use crate::backend_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::{spawn_app, t0, API_KEY};
use chrono::Duration;
use fake_linkedin::{Endpoint, Fault};
use test_databases::Backend;

backend_tests!(tokens_never_reach_the_logs);

async fn tokens_never_reach_the_logs(backend: Backend) {
    let logs = LogCapture::start("debug", LogFormat::Json);

    let Some(app) = spawn_app(backend).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    let first = app.linked("ada").await;
    app.linked("bo").await;
    let bo = app.account("bo").await;
    app.fake.controls().revoke_member(bo.member_id.as_str());
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(500), Some(1));
    app.sweep_at(t0() + Duration::days(50)).await;
    let refreshed = app.account("ada").await;
    // A failing code exchange logs LinkedIn's answer.
    app.fake
        .controls()
        .inject_fault(Endpoint::Token, Fault::Status(503), Some(1));
    app.connect("cy", "cy@example.com").await;

    let logs = logs.text();
    assert!(logs.contains("token refreshed"), "the refresh was logged");
    assert!(logs.contains("member must reconnect"));
    let mut secrets = vec![
        first.token.expose().to_owned(),
        first.refresh_token.as_ref().unwrap().expose().to_owned(),
        refreshed.token.expose().to_owned(),
        bo.token.expose().to_owned(),
        API_KEY.to_owned(),
        fake_linkedin::FakeConfig::default().client_secret,
    ];
    use secrecy::ExposeSecret;
    secrets.push(app.config.connect.signing_key.expose_secret().to_owned());
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret reached the logs");
    }
}
