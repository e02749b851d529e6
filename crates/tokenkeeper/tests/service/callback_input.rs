//! What a browser writes into the callback's query is an outsider's text: it reaches the logs
//! cut to one short line, whatever its size or its line breaks.

use crate::backend_tests;
use crate::support::spawn_app;
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use tokenkeeper::store::testing::Backend;

backend_tests!(a_forged_error_description_reaches_the_logs_as_one_short_line);

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

async fn a_forged_error_description_reaches_the_logs_as_one_short_line(backend: Backend) {
    let captured = Captured::default();
    let writer = captured.clone();
    // The human format: the one where a raw line break would start a forged line.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("info,fake_linkedin=off")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    tracing::callsite::rebuild_interest_cache();
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

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
