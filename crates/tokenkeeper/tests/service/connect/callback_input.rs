//! What a browser writes into the callback's query is an outsider's text: it reaches the logs
//! cut to one short line, whatever its size or its line breaks.

use crate::backend_tests;
use crate::support::log_capture::{LogCapture, LogFormat};
use crate::support::spawn_app;
use reqwest::StatusCode;
use test_databases::Backend;

backend_tests!(a_forged_error_description_reaches_the_logs_as_one_short_line);

async fn a_forged_error_description_reaches_the_logs_as_one_short_line(backend: Backend) {
    let logs = LogCapture::start("info", LogFormat::Human);
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    LogCapture::ask_call_sites_again();
    let link = app.connect_link("u-1", "u-1@example.com", None).await;
    let mut callback = app.consent(&link).await;
    let state = callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let flood = "A".repeat(5_000);
    callback
        .query_pairs_mut()
        .clear()
        .append_pair("state", &state)
        .append_pair("error", "access_denied\nERROR forged line")
        .append_pair(
            "error_description",
            &format!("{flood}\n2026-03-02T08:00:00Z ERROR forged line"),
        );
    let response = app.browser.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let logs = logs.text();
    let refused = logs
        .lines()
        .find(|l| l.contains("LinkedIn refused the authorization"))
        .expect("the refusal is logged");
    assert!(refused.contains("[cut]"), "{refused}");
    assert!(
        !logs.contains(&"A".repeat(301)),
        "the description was not cut"
    );
    assert!(
        !logs.lines().any(|l| l.contains("ERROR forged line")
            && !l.contains("LinkedIn refused the authorization")),
        "a line break in the query started a line of its own:\n{logs}"
    );
    assert_eq!(app.account_count().await, 0);
}
