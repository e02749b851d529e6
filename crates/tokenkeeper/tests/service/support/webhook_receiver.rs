//! A host app's webhook endpoint for the tests: a real HTTP server on a free port that keeps
//! what it receives and answers with the statuses a test lines up (200 once they run out).
//! Signatures are checked with Python's `standardwebhooks`, the specification's own library,
//! so our signing is tested against an implementation that is not ours.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, watch};

/// The signing secret of every test receiver (32 random bytes, as `webhooks generate-secret`
/// makes them).
pub const SECRET: &str = "whsec_q8F0nQy7lCk3R9wz3fJ7m2Xo5uT1bV4eN6hA8sD0gLc=";

/// One request as it arrived: its webhook headers and its body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    answers: VecDeque<u16>,
    /// When set, the next request is answered only once this fires.
    hold: Option<oneshot::Receiver<()>>,
}

#[derive(Clone)]
struct Shared {
    inbox: Arc<Mutex<Inbox>>,
    count: watch::Sender<usize>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/hooks/tokenkeeper",
            listener.local_addr().unwrap()
        );
        let shared = Shared {
            inbox: Arc::default(),
            count: watch::Sender::new(0),
        };
        let app = axum::Router::new()
            .route("/hooks/tokenkeeper", axum::routing::post(receive))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            shared,
            server,
        }
    }

    /// The next requests are answered with these statuses, in order.
    pub fn answer_with(&self, statuses: &[u16]) {
        self.shared
            .inbox
            .lock()
            .unwrap()
            .answers
            .extend(statuses.iter().copied());
    }

    /// The next request is recorded at once but answered only when the returned sender is
    /// used (or dropped): a receiver that is slow exactly as long as a test needs.
    pub fn hold_next(&self) -> oneshot::Sender<()> {
        let (release, hold) = oneshot::channel();
        self.shared.inbox.lock().unwrap().hold = Some(hold);
        release
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.inbox.lock().unwrap().received.clone()
    }

    /// The `type` of every request received, in order.
    pub fn event_types(&self) -> Vec<String> {
        self.received().iter().map(Received::event_type).collect()
    }

    /// Completes once `count` requests have arrived (an explicit signal, not a sleep).
    pub async fn wait_for(&self, count: usize) {
        let mut changes = self.shared.count.subscribe();
        let wait = changes.wait_for(|n| *n >= count);
        tokio::time::timeout(std::time::Duration::from_secs(30), wait)
            .await
            .expect("the receiver got the requests in time")
            .unwrap();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("webhook-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    let (status, hold) = {
        let mut inbox = shared.inbox.lock().unwrap();
        inbox.received.push(Received {
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        });
        (inbox.answers.pop_front().unwrap_or(200), inbox.hold.take())
    };
    shared.count.send_modify(|n| *n += 1);
    if let Some(hold) = hold {
        let _ = hold.await;
    }
    StatusCode::from_u16(status).unwrap()
}

/// Verifies each message with Python's `standardwebhooks` under `secret`: `Ok` with the
/// parsed body, or the library's refusal. `None` when Python or the package is missing here:
/// the test is then reported ignored with the reason (failed under `CI=true`).
pub async fn verify_with_standard_webhooks(
    secret: &str,
    messages: &[Received],
) -> Option<Vec<Result<Value, String>>> {
    const SCRIPT: &str = r#"
import json, sys
try:
    from standardwebhooks.webhooks import Webhook
except ImportError:
    sys.exit(3)
request = json.load(sys.stdin)
hook = Webhook(request["secret"])
results = []
for message in request["messages"]:
    try:
        results.append({"ok": hook.verify(message["body"], message["headers"])})
    except Exception as error:
        results.append({"refused": type(error).__name__ + ": " + str(error)})
print(json.dumps(results))
"#;
    let input = serde_json::json!({
        "secret": secret,
        "messages": messages
            .iter()
            .map(|m| serde_json::json!({"headers": m.headers, "body": m.body}))
            .collect::<Vec<_>>(),
    });
    let run = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args(["-c", SCRIPT])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())?;
        child.wait_with_output()
    })
    .await
    .unwrap();
    let missing = match &run {
        Err(e) => Some(format!("python3 cannot run ({e})")),
        Ok(output) if output.status.code() == Some(3) => {
            Some("the Python package standardwebhooks is not installed".to_owned())
        }
        Ok(_) => None,
    };
    if let Some(why) = missing {
        crate::support::harness::not_run(format!(
            "webhook signatures not verified: {why}; python3 -m pip install standardwebhooks"
        ));
        return None;
    }
    let output = run.unwrap();
    assert!(
        output.status.success(),
        "the verifier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    Some(
        results
            .into_iter()
            .map(|r| match r.get("ok") {
                Some(body) => Ok(body.clone()),
                None => Err(r["refused"].as_str().unwrap_or_default().to_owned()),
            })
            .collect(),
    )
}
