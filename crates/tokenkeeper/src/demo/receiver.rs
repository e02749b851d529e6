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
    let data = &event["data"];
    let line = format!(
        "{:<24} {:<6} status {:<16} version {} ({})",
        event["type"].as_str().unwrap_or("?"),
        data["user_id"].as_str().unwrap_or("?"),
        data["status"].as_str().unwrap_or("?"),
        data["version"],
        if signed {
            "signature ok"
        } else {
            "BAD SIGNATURE"
        }
    );
    inbox.lines.lock().expect("the inbox lock").push(line);
    if signed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}
