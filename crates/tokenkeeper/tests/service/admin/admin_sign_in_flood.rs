//! The dashboard's sign-in under a flood from many addresses, behind a proxy that names each
//! client in `X-Forwarded-For` (`http.trust_forwarded_for`): posts that never loaded the form
//! cost the operator nothing, password checks from everywhere make the operator wait their
//! turn but are never a reason to refuse them, and a flood of refusals writes a bounded
//! number of log lines.

use crate::admin::admin_dashboard::{csrf_of, with_dashboard, ADMIN_PASSWORD};
use crate::backend_tests;
use crate::support::log_capture::{json_events, LogCapture, LogFormat};
use crate::support::{location, new_browser, spawn, t0, Setup, TestApp};
use chrono::Duration;
use reqwest::StatusCode;
use test_databases::Backend;

backend_tests!(only [Sqlite]: a_flood_of_formless_sign_ins_neither_locks_the_operator_out_nor_fills_the_log);
backend_tests!(only [Sqlite]: wrong_passwords_from_many_addresses_make_the_operator_wait_never_refuse_them);

/// The operator's own address, apart from every address of a flood.
const OPERATOR: &str = "192.0.2.1";

/// A sign-in form posted without its token or a password.
const BARE: [(&str, &str); 0] = [];

/// The `i`th address of a flood.
fn flooder(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

async fn behind_a_proxy(backend: Backend) -> Option<TestApp> {
    spawn(
        backend,
        with_dashboard(Setup::default().var("HTTP__TRUST_FORWARDED_FOR", "true")),
    )
    .await
}

/// Loads the sign-in form and posts `password` with its token, as a browser at `address`
/// does; the answer to the post.
async fn sign_in_from(
    app: &TestApp,
    browser: &reqwest::Client,
    address: &str,
    password: &str,
) -> reqwest::Response {
    let form = browser
        .get(app.url("/admin/login"))
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = csrf_of(&form.text().await.unwrap());
    browser
        .post(app.url("/admin/login"))
        .header("x-forwarded-for", address)
        .form(&[("csrf", csrf.as_str()), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The operator, at their own address, signs in with the right password at once.
async fn operator_signs_in(app: &TestApp) {
    let answer = sign_in_from(app, &new_browser(), OPERATOR, ADMIN_PASSWORD).await;
    assert_eq!(
        answer.status(),
        StatusCode::SEE_OTHER,
        "the operator is refused"
    );
    assert_eq!(location(&answer).path(), "/admin");
}

/// The lines about refused sign-ins logged so far.
fn warnings(log: &LogCapture) -> Vec<serde_json::Value> {
    json_events(&log.text())
        .into_iter()
        .filter(|event| {
            let message = event["fields"]["message"].as_str().unwrap_or_default();
            message.contains("sign-in") && message.contains("refused")
        })
        .collect()
}

/// Three hundred addresses post the sign-in form bare: no form token, no password. None of
/// them costs an attempt, so the operator still signs in at once; the first refusal is logged
/// and the rest only counted, until a minute later one line says how many there were.
async fn a_flood_of_formless_sign_ins_neither_locks_the_operator_out_nor_fills_the_log(
    backend: Backend,
) {
    let log = LogCapture::start("tokenkeeper=info", LogFormat::Json);
    let Some(app) = behind_a_proxy(backend).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    let flood = new_browser();
    for i in 0..300 {
        let answer = flood
            .post(app.url("/admin/login"))
            .header("x-forwarded-for", flooder(i))
            .form(&BARE)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "post {i}");
    }
    operator_signs_in(&app).await;

    let written = warnings(&log);
    assert_eq!(written.len(), 1, "{written:#?}");
    assert_eq!(written[0]["fields"]["reason"], "no_form_token");
    assert_eq!(written[0]["fields"]["client"], flooder(0));

    // A minute on, the next refusal writes one line that counts the ones not logged.
    app.at(t0() + Duration::seconds(60));
    let answer = flood
        .post(app.url("/admin/login"))
        .header("x-forwarded-for", flooder(300))
        .form(&BARE)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let written = warnings(&log);
    assert_eq!(written.len(), 2, "{written:#?}");
    let summary = &written[1]["fields"];
    assert_eq!(summary["without_form_token"], 300, "{summary}");
    assert_eq!(summary["too_many_attempts"], 0, "{summary}");
    assert_eq!(summary["wrong_password"], 0, "{summary}");
}

/// A hundred addresses load the form and try a wrong password, one after another, then fifty
/// more at the same moment as the operator. Every one is checked (each address keeps its own
/// budget), none is refused for the others' sake, and the operator, whose check waits its turn
/// among theirs, signs in.
async fn wrong_passwords_from_many_addresses_make_the_operator_wait_never_refuse_them(
    backend: Backend,
) {
    let log = LogCapture::start("tokenkeeper=info", LogFormat::Json);
    let Some(app) = behind_a_proxy(backend).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    for i in 0..100 {
        let answer = sign_in_from(&app, &new_browser(), &flooder(i), "a guess").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let app = std::sync::Arc::new(app);
    let mut at_once = tokio::task::JoinSet::new();
    for i in 100..150 {
        let app = app.clone();
        at_once.spawn(async move {
            let answer = sign_in_from(&app, &new_browser(), &flooder(i), "a guess").await;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "guess {i}");
        });
    }
    let operator = app.clone();
    at_once.spawn(async move { operator_signs_in(&operator).await });
    while let Some(done) = at_once.join_next().await {
        done.unwrap();
    }
    let written = warnings(&log);
    assert_eq!(written.len(), 1, "{written:#?}");
    assert_eq!(written[0]["fields"]["reason"], "wrong_password");
}
