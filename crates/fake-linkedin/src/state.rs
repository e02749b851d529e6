//! The fake's world: members, codes, tokens, the clock, faults and counters.

use crate::machinery::{CallCounter, Clock, FaultQueues};
use chrono::{DateTime, Duration, Utc};
use rand::distributions::{Alphanumeric, DistString};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeSeparator {
    Comma,
    Space,
}

/// The two failure bodies LinkedIn is documented or observed to send for a dead refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidRefreshStyle {
    InvalidGrant,
    InvalidRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Approve,
    CancelLogin,
    CancelAuthorize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    Introspect,
    Userinfo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers with this status and a LinkedIn-like JSON body.
    Status(u16),
    /// 429, with a Retry-After header only when given.
    TooManyRequests { retry_after: Option<u64> },
    /// Waits, then answers normally.
    Latency(std::time::Duration),
    /// Never answers, so clients time out.
    Hang,
    /// Any raw answer, exactly as given: odd statuses, odd headers (`Retry-After: soon`),
    /// bodies LinkedIn never documented, absurd numbers, huge bodies.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Closes the connection without sending any answer, as a crashed proxy does.
    Disconnect,
    /// Holds the request until the gate is opened, then answers normally: a test decides
    /// exactly when LinkedIn's answer arrives (after its own client hung up, say) without
    /// guessing how long anything takes.
    Hold(Gate),
}

/// Opened once by a test; every request held by it then goes on.
#[derive(Debug, Clone, Default)]
pub struct Gate(std::sync::Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self) {
        self.0.send_replace(true);
    }

    pub(crate) async fn passed(&self) {
        let mut open = self.0.subscribe();
        // The sender lives in `self`, so the wait cannot end for want of one.
        let _ = open.wait_for(|open| *open).await;
    }
}

/// Two gates are equal when they are the same gate.
impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub sub: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub client_id: String,
    pub client_secret: String,
    pub partner: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub code_ttl: Duration,
    pub scope_separator: ScopeSeparator,
    pub invalid_refresh_style: InvalidRefreshStyle,
    /// Benchmark mode: a refresh token never issued here is taken as a new member's, its
    /// 365-day clock starting when first seen.
    pub accept_unknown_refresh_tokens: bool,
    /// Registered redirect URIs; empty accepts any http(s) URI.
    pub redirect_uris: Vec<String>,
    pub start_time: DateTime<Utc>,
    /// Whether the clock runs with real time, as LinkedIn's does (the default). A test that
    /// compares instants to the second stops it: on a loaded machine it could otherwise run
    /// seconds between two steps of the test.
    pub clock_runs: bool,
    /// Latency added to every token call (benchmarks model LinkedIn's with it).
    pub token_latency: std::time::Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-client-id".into(),
            client_secret: "fake-client-secret".into(),
            partner: true,
            access_token_ttl: Duration::seconds(5_183_999),
            refresh_token_ttl: Duration::seconds(31_536_059),
            code_ttl: Duration::minutes(30),
            scope_separator: ScopeSeparator::Comma,
            invalid_refresh_style: InvalidRefreshStyle::InvalidGrant,
            accept_unknown_refresh_tokens: false,
            redirect_uris: Vec::new(),
            start_time: Utc::now(),
            clock_runs: true,
            token_latency: std::time::Duration::ZERO,
        }
    }
}

/// An access token issued before the fake started (`Controls::seed_access_token`).
#[derive(Debug, Clone)]
pub struct SeededToken {
    /// The member's `sub`.
    pub member: String,
    pub scope: Vec<String>,
    pub authorized_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// A refresh token issued with it, and when that one ends.
    pub refresh: Option<(String, DateTime<Utc>)>,
    pub revoked: bool,
}

/// A code the consent page sent back, with the authorize request that asked for it.
pub(crate) struct Code {
    pub member: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    /// The authorize request's own parameters (`code_challenge`, `access_type`, `prompt`…).
    pub params: HashMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

impl Code {
    /// Files the code under a new random value of `len` characters, which it returns.
    pub fn file(self, codes: &mut HashMap<String, Code>, len: usize) -> String {
        let value = random(len);
        codes.insert(value.clone(), self);
        value
    }
}

/// Whether the consent page may send the browser to this URI: http(s), and one of those
/// registered when any are.
pub(crate) fn redirect_allowed(redirect_uri: &str, registered: &[String]) -> bool {
    url::Url::parse(redirect_uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        && (registered.is_empty() || registered.iter().any(|r| r == redirect_uri))
}

pub(crate) struct AccessGrant {
    pub member: String,
    pub scope: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) struct RefreshGrant {
    pub member: String,
    pub scope: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) struct State {
    pub config: FakeConfig,
    pub clock: Clock,
    pub consent: Consent,
    pub logged_in: Option<Member>,
    pub members: Vec<Member>,
    pub revoked: std::collections::HashSet<String>,
    pub codes: HashMap<String, Code>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub faults: FaultQueues<Endpoint>,
    /// Faults for one member's refresh grants only, keyed by the member's `sub`.
    pub member_faults: FaultQueues<String>,
    pub calls: CallCounter<Endpoint>,
    pub refresh_grants: u64,
    pub refresh_by_member: HashMap<String, u64>,
    pub refresh_by_token: HashMap<String, u64>,
}

impl State {
    pub fn new(config: FakeConfig) -> Self {
        Self {
            clock: Clock::new(config.start_time, config.clock_runs),
            config,
            consent: Consent::Approve,
            logged_in: None,
            members: Vec::new(),
            revoked: Default::default(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            faults: Default::default(),
            member_faults: Default::default(),
            calls: Default::default(),
            refresh_grants: 0,
            refresh_by_member: HashMap::new(),
            refresh_by_token: HashMap::new(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn set_now(&mut self, t: DateTime<Utc>) {
        self.clock.set(t);
    }

    /// The member consenting now: the logged-in one, or a new one per authorization.
    pub fn consenting_member(&mut self, in_browser: Option<String>) -> String {
        let member = match (in_browser, self.logged_in.clone()) {
            (Some(sub), _) => self
                .members
                .iter()
                .find(|m| m.sub == sub)
                .cloned()
                .unwrap_or_else(|| numbered_member(sub, self.members.len() + 1)),
            (None, Some(m)) => m,
            (None, None) => numbered_member(random(10), self.members.len() + 1),
        };
        if !self.members.iter().any(|m| m.sub == member.sub) {
            self.members.push(member.clone());
        }
        // Consenting again authorizes the app again, as after a revocation at LinkedIn.
        self.revoked.remove(&member.sub);
        member.sub
    }

    /// Records a call and returns the fault to apply to it, if any.
    pub fn take_fault(&mut self, endpoint: Endpoint) -> Option<Fault> {
        self.calls.record(endpoint);
        self.faults.take(&endpoint)
    }

    /// The fault to apply to a refresh grant of this member, if any.
    pub fn take_member_fault(&mut self, member: &str) -> Option<Fault> {
        self.member_faults.take(member)
    }

    pub fn join_scope(&self, scope: &[String]) -> String {
        match self.config.scope_separator {
            ScopeSeparator::Comma => scope.join(","),
            ScopeSeparator::Space => scope.join(" "),
        }
    }
}

/// The `n`th member to consent without a test having logged anyone in.
pub(crate) fn numbered_member(sub: String, n: usize) -> Member {
    Member {
        sub,
        name: format!("Member {n}"),
        given_name: "Member".into(),
        family_name: n.to_string(),
        email: Some(format!("member{n}@example.com")),
    }
}

pub(crate) fn random(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}
