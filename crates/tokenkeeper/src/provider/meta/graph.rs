//! Calls to Meta's endpoints: sent, bounded, read, and their failures classified, with every
//! secret kept out of what a failure says. Meta wants tokens and the app secret in query
//! strings, so a request's URL is itself secret: it never reaches an error text (reqwest's
//! errors are stripped of it), and an error body is scrubbed of whatever we sent and of
//! anything shaped like a token before it is quoted.

use super::graph_error::{classify, GraphError, Verdict};
use crate::provider::scrub::scrub;
use crate::provider::{Failure, ProviderError};
use reqwest::header::RETRY_AFTER;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Larger than any token, `/me` or error body Meta sends.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The HTTP client of one Meta provider, naming the network in every failure.
#[derive(Clone)]
pub(super) struct Graph {
    http: reqwest::Client,
    network: Arc<str>,
}

/// A refused call, before it is turned into a `ProviderError`: the status and Graph's error
/// (if the body had one), so a caller can look closer (Instagram's "too young").
pub(super) struct Refusal {
    pub status: u16,
    pub error: Option<GraphError>,
    message: String,
}

/// An answer: the body, or a refusal (no usable answer at all is the `Err` beside it).
pub(super) enum Answer<T> {
    Body(T),
    Refused(Refusal),
}

impl Graph {
    pub fn new(network: &str, timeout: Duration) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::new(network, Failure::Connect(reqwest_detail(e))))?;
        Ok(Self {
            http,
            network: Arc::from(network),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn error(&self, failure: Failure) -> ProviderError {
        ProviderError::new(self.network.clone(), failure)
    }

    /// Sends `request` carrying the `secrets` listed, and reads its answer. A refusal comes
    /// back classified in `ProviderError` form by `Graph::refused`, or as is for a caller that
    /// looks closer first.
    pub async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Answer<T>, ProviderError> {
        let response = request.send().await.map_err(|e| self.unanswered(e))?;
        let status = response.status().as_u16();
        if status == 429 {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(self.error(Failure::RateLimited { retry_after }));
        }
        let success = response.status().is_success();
        let body = self.read_limited(response).await?;
        let text = String::from_utf8_lossy(&body);
        if success {
            return serde_json::from_str(&text)
                .map(Answer::Body)
                .map_err(|e| self.error(Failure::Malformed(scrub(&e.to_string(), secrets))));
        }
        let error = GraphError::parse(&text);
        let said = match &error {
            Some(error) if !error.message.trim().is_empty() => error.message.as_str(),
            _ => text.as_ref(),
        };
        let message = match said.trim() {
            "" => "(empty body)".to_owned(),
            said => crate::telemetry::outside_text(&scrub(said, secrets)),
        };
        Ok(Answer::Refused(Refusal {
            status,
            error,
            message,
        }))
    }

    /// Sends and reads; a refusal is an error, classified.
    pub async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<T, ProviderError> {
        match self.send(request, secrets).await? {
            Answer::Body(body) => Ok(body),
            Answer::Refused(refusal) => Err(self.refused(refusal)),
        }
    }

    /// A refusal as the provider port carries it.
    pub fn refused(&self, refusal: Refusal) -> ProviderError {
        let code = refusal.error.as_ref().and_then(GraphError::code_text);
        let failure = match classify(refusal.status, refusal.error.as_ref()) {
            Verdict::RateLimited => Failure::RateLimited { retry_after: None },
            Verdict::Class(class) => Failure::Status {
                status: refusal.status,
                code,
                message: refusal.message,
                class,
            },
        };
        self.error(failure)
    }

    /// A success body we cannot use, said without quoting it.
    pub fn malformed(&self, detail: impl Into<String>) -> ProviderError {
        self.error(Failure::Malformed(detail.into()))
    }

    async fn read_limited(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, ProviderError> {
        let too_large =
            || self.malformed(format!("the body is larger than {MAX_BODY_BYTES} bytes"));
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        // An answer cut short after its headers is still an answer: Malformed, never Connect,
        // so a single-use code is not sent twice.
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            self.malformed(format!("reading the body failed: {}", reqwest_detail(e)))
        })? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn unanswered(&self, error: reqwest::Error) -> ProviderError {
        if error.is_timeout() {
            self.error(Failure::Timeout)
        } else {
            self.error(Failure::Connect(reqwest_detail(error)))
        }
    }
}

/// A reqwest error's text without its URL, whose query holds tokens and the app secret.
fn reqwest_detail(error: reqwest::Error) -> String {
    crate::telemetry::error_chain(&error.without_url())
}

/// Retries at the callback, where a member is waiting: quick, and a few seconds at most.
pub(super) fn callback_backoff() -> backon::ExponentialBuilder {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(2))
        .with_total_delay(Some(Duration::from_secs(5)))
        .with_max_times(4)
        .with_jitter()
}

/// Worth retrying at once while a member waits: no answer, or a 5xx.
pub(super) fn worth_retrying(error: &ProviderError) -> bool {
    error.no_answer() || matches!(error.http_status(), Some(500..=599))
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn what_we_sent_and_anything_token_shaped_is_masked() {
        let token = "IGAAshort";
        let quoted = format!(
            "Malformed access token {token} and EAAB{} for app 1234|{}",
            "x".repeat(40),
            "s".repeat(32)
        );
        let scrubbed = scrub(&quoted, &[token]);
        assert_eq!(
            scrubbed,
            "Malformed access token [redacted] and [redacted] for app [redacted]"
        );
        assert_eq!(
            scrub(
                "Session has expired on Tuesday, 10-Mar-26 08:00:00 PDT.",
                &[]
            ),
            "Session has expired on Tuesday, 10-Mar-26 08:00:00 PDT."
        );
    }
}
