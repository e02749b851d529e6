//! One signed POST to the receiver. The `webhook-timestamp` is the wall clock's, whatever
//! "now" the rest of the process plans with: receivers reject timestamps far from their own
//! clock, which is their defence against replays.

use crate::config::WebhookTarget;
use std::time::Duration;

#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    target: WebhookTarget,
}

/// The receiver's answer: its status, and the start of its body for the operator.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// No answer at all. Told without the URL, which may carry a credential of the receiver's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(String);

/// How much of a receiver's body is kept.
const ANSWER_LIMIT: usize = 200;

impl Sender {
    pub fn new(target: WebhookTarget, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would resend the signed body somewhere the operator did not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, target })
    }

    /// Posts `body` as message `message_id`, signed now.
    pub async fn post(&self, message_id: &str, body: Vec<u8>) -> Result<Answer, SendError> {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = self.target.secret.sign(message_id, timestamp, &body);
        let response = self
            .http
            .post(self.target.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError(crate::telemetry::error_chain(&e.without_url())))?;
        let status = response.status().as_u16();
        // Only the answer's first characters are kept, so only they are read: a receiver that
        // streams a huge body costs a few kilobytes, not the whole timeout's worth.
        let mut response = response;
        let mut head = Vec::new();
        while head.len() < ANSWER_LIMIT * 4 {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        let body = String::from_utf8_lossy(&head[..head.len().min(ANSWER_LIMIT * 4)]);
        Ok(Answer {
            status,
            body: crate::telemetry::outside_text(
                &body.chars().take(ANSWER_LIMIT).collect::<String>(),
            ),
        })
    }
}
