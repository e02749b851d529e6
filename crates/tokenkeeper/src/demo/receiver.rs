//! The demo's stand-in for the host app's webhook endpoint: it checks each request's
//! signature as a receiver must, and keeps one line per event for the story to print.

use crate::crypto::WebhookSecret;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Inbox {
    secret: WebhookSecret,
    lines: Arc<Mutex<Vec<String>>>,
}

pub struct DemoReceiver {
    pub url: String,
    inbox: Inbox,
    server: tokio::task::JoinHandle<()>,
}

impl DemoReceiver {
    pub async fn start(secret: WebhookSecret) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhooks", listener.local_addr()?);
        let inbox = Inbox {
            secret,
            lines: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/webhooks", axum::routing::post(receive))
            .with_state(inbox.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, inbox, server })
    }

    /// The lines received since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.inbox.lines.lock().expect("the inbox lock"))
    }
}

impl Drop for DemoReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let timestamp = header("webhook-timestamp").parse().unwrap_or(0);
    let expected = inbox.secret.sign(header("webhook-id"), timestamp, &body);
    let signed = header("webhook-signature")
        .split(' ')
        .any(|candidate| candidate == expected);
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let line = event_line(&event, signed);
    inbox.lines.lock().expect("the inbox lock").push(line);
    if signed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// One event as the demo prints it. The user id, of any length, comes last, so the columns
/// before it stay aligned whatever the ids.
fn event_line(event: &serde_json::Value, signed: bool) -> String {
    let data = &event["data"];
    format!(
        "{:<24} status {:<16} version {:<3} {:<13} user {}",
        event["type"].as_str().unwrap_or("?"),
        data["status"].as_str().unwrap_or("?"),
        data["version"].to_string(),
        if signed {
            "signature ok"
        } else {
            "BAD SIGNATURE"
        },
        data["user_id"].as_str().unwrap_or("?"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_user_id_leaves_the_columns_aligned() {
        let line = |user: &str, kind: &str| {
            let event = serde_json::json!({
                "type": kind,
                "data": {"user_id": user, "status": "active", "version": 1},
            });
            event_line(&event, true)
        };
        let short = line("ada", "account.linked");
        let long = line("margaret-hamilton-of-apollo", "account.refresh_failing");
        let user_at = |l: &str| l.find(" user ").unwrap();
        assert_eq!(user_at(&short), user_at(&long));
        assert!(long.ends_with("user margaret-hamilton-of-apollo"), "{long}");
    }
}
