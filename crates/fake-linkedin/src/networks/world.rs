//! One network's world: members, authorization codes, grants and their tokens, the clock,
//! faults and counters. Each network's routes decide what a request means; this keeps the
//! books the same way for all of them.

use super::{FakeNetworkConfig, NetworkEndpoint, NetworkKind};
use crate::machinery::{CallCounter, Clock, FaultQueues};
use crate::state::{numbered_member, random, Code, Consent, Fault, Member};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use std::collections::HashMap;

/// One consent and everything issued under it: revoking it, or reusing one of its rotated
/// refresh tokens at X, kills every token it holds.
pub(crate) struct Grant {
    pub member: String,
    pub consented_at: DateTime<Utc>,
    pub dead: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessKind {
    /// A plain bearer token.
    Bearer,
    /// Meta's one-hour token from the code exchange.
    ShortLived,
    /// Meta's 60-day token from an exchange or a refresh.
    LongLived,
}

pub(crate) struct Access {
    pub grant: u64,
    pub scope: Vec<String>,
    pub kind: AccessKind,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) struct Refresh {
    pub grant: u64,
    pub scope: Vec<String>,
    pub last_used_at: DateTime<Utc>,
    /// A fixed end, where the network has one.
    pub expires_at: Option<DateTime<Utc>>,
    /// Single-use tokens are kept once used, to recognise their reuse.
    pub used: bool,
}

/// What a refresh token stood for: its grant, scope and, where the network has one, the
/// chain's fixed end.
pub(crate) type Refreshed = (u64, Vec<String>, Option<DateTime<Utc>>);

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRefusal {
    Unknown,
    /// A single-use token presented again.
    Reused,
    /// Past its end, idle too long, or its grant revoked.
    Dead,
}

pub(crate) struct World {
    pub kind: NetworkKind,
    pub config: FakeNetworkConfig,
    pub clock: Clock,
    pub consent: Consent,
    pub logged_in: Option<Member>,
    pub members: Vec<Member>,
    pub codes: HashMap<String, Code>,
    pub grants: HashMap<u64, Grant>,
    pub access: HashMap<String, Access>,
    pub refresh: HashMap<String, Refresh>,
    /// Google: members who were already given a refresh token, and get none on a later
    /// consent unless it is forced with `prompt=consent`.
    pub offline_granted: std::collections::HashSet<String>,
    pub faults: FaultQueues<NetworkEndpoint>,
    pub calls: CallCounter<NetworkEndpoint>,
    pub refresh_grants: u64,
    pub refresh_reuses: u64,
    pub refresh_by_token: HashMap<String, u64>,
}

impl World {
    pub fn new(kind: NetworkKind, config: FakeNetworkConfig) -> Self {
        Self {
            kind,
            clock: Clock::new(config.start_time, config.clock_runs),
            config,
            consent: Consent::Approve,
            logged_in: None,
            members: Vec::new(),
            codes: HashMap::new(),
            grants: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            offline_granted: Default::default(),
            faults: Default::default(),
            calls: Default::default(),
            refresh_grants: 0,
            refresh_reuses: 0,
            refresh_by_token: HashMap::new(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Records a call and returns the fault to apply to it, if any.
    pub fn take_fault(&mut self, endpoint: NetworkEndpoint) -> Option<Fault> {
        self.calls.record(endpoint);
        self.faults.take(&endpoint)
    }

    /// The member consenting now: the logged-in one, or a new one per authorization. The
    /// networks other than LinkedIn number their members.
    pub fn consenting_member(&mut self, in_browser: Option<String>) -> String {
        if let Some(sub) = in_browser {
            if !self.members.iter().any(|m| m.sub == sub) {
                let n = self.members.len() + 1;
                self.members.push(numbered_member(sub.clone(), n));
            }
            return sub;
        }
        let member = self.logged_in.clone().unwrap_or_else(|| {
            let id = rand::thread_rng().gen_range(10u64.pow(17)..10u64.pow(18));
            numbered_member(id.to_string(), self.members.len() + 1)
        });
        if !self.members.iter().any(|m| m.sub == member.sub) {
            self.members.push(member.clone());
        }
        member.sub
    }

    pub fn member(&self, id: &str) -> Member {
        self.members
            .iter()
            .find(|m| m.sub == id)
            .cloned()
            .unwrap_or_else(|| numbered_member(id.to_owned(), 0))
    }

    pub fn issue_code(
        &mut self,
        in_browser: Option<String>,
        redirect_uri: String,
        scope: Vec<String>,
        params: HashMap<String, String>,
    ) -> String {
        let code = Code {
            member: self.consenting_member(in_browser),
            redirect_uri,
            scope,
            params,
            expires_at: self.now() + self.config.code_ttl,
        };
        code.file(&mut self.codes, 40)
    }

    /// Redeems a code: single use, unexpired, for the redirect URI it was sent to, and with
    /// the verifier of its PKCE challenge when it had one. The code is gone either way.
    pub fn redeem_code(
        &mut self,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Option<Code> {
        let code = self.codes.remove(code)?;
        let now = self.now();
        let pkce_ok = match code.params.get("code_challenge") {
            None => true,
            Some(challenge) => verifier.is_some_and(|v| {
                let method = code.params.get("code_challenge_method");
                pkce_matches(method.map(String::as_str), challenge, v)
            }),
        };
        (code.expires_at > now && redirect_uri == Some(code.redirect_uri.as_str()) && pkce_ok)
            .then_some(code)
    }

    pub fn new_grant(&mut self, member: &str) -> u64 {
        let id = self.grants.len() as u64 + 1;
        let consented_at = self.now();
        self.grants.insert(
            id,
            Grant {
                member: member.to_owned(),
                consented_at,
                dead: false,
            },
        );
        id
    }

    pub fn grant_alive(&self, grant: u64) -> bool {
        let Some(g) = self.grants.get(&grant) else {
            return false;
        };
        let testing_over =
            self.config.google_testing_mode && g.consented_at + Duration::days(7) <= self.now();
        !g.dead && !testing_over
    }

    pub fn kill_grant(&mut self, grant: u64) {
        if let Some(g) = self.grants.get_mut(&grant) {
            g.dead = true;
        }
    }

    /// The member removes the app: every grant they gave dies, and their next consent is a
    /// first one again.
    pub fn revoke_member(&mut self, member: &str) {
        for g in self.grants.values_mut().filter(|g| g.member == member) {
            g.dead = true;
        }
        self.offline_granted.remove(member);
    }

    pub fn issue_access(
        &mut self,
        grant: u64,
        scope: &[String],
        kind: AccessKind,
        ttl: Duration,
    ) -> String {
        let prefix = match self.kind {
            NetworkKind::Google => "ya29.",
            NetworkKind::TikTok => "act.",
            NetworkKind::Instagram => "IGAA",
            NetworkKind::Threads => "THAA",
            NetworkKind::Facebook => "EAAB",
            NetworkKind::X => "",
        };
        let token = format!("{prefix}{}", random(120));
        let now = self.now();
        self.access.insert(
            token.clone(),
            Access {
                grant,
                scope: scope.to_vec(),
                kind,
                issued_at: now,
                expires_at: now + ttl,
            },
        );
        token
    }

    pub fn issue_refresh(
        &mut self,
        grant: u64,
        scope: &[String],
        expires_at: Option<DateTime<Utc>>,
    ) -> String {
        let token = match self.kind {
            NetworkKind::Google => format!("1//{}", random(100)),
            NetworkKind::TikTok => format!("rft.{}", random(60)),
            _ => random(90),
        };
        let now = self.now();
        self.refresh.insert(
            token.clone(),
            Refresh {
                grant,
                scope: scope.to_vec(),
                last_used_at: now,
                expires_at,
                used: false,
            },
        );
        token
    }

    /// The member and scope an access token stands for while it is accepted.
    pub fn accepted(&self, token: &str) -> Option<(&Access, String)> {
        let access = self.access.get(token)?;
        let alive = access.expires_at > self.now() && self.grant_alive(access.grant);
        alive.then(|| (access, self.grants[&access.grant].member.clone()))
    }

    /// Whether this refresh token would be taken now.
    pub fn refresh_usable(&self, token: &str) -> bool {
        let now = self.now();
        let idle = (self.kind == NetworkKind::Google).then(|| {
            (self.config.refresh_token_ttl).unwrap_or(NetworkKind::Google.default_refresh_ttl())
        });
        self.refresh.get(token).is_some_and(|r| {
            !r.used
                && r.expires_at.is_none_or(|end| end > now)
                && idle.is_none_or(|life| r.last_used_at + life > now)
                && self.grant_alive(r.grant)
        })
    }

    /// Uses a refresh token: counts it, refuses it if it cannot be used, and marks a
    /// single-use one as used. A used one presented again counts as a reuse and, where the
    /// network does so (X), kills its whole grant.
    pub fn use_refresh(
        &mut self,
        token: &str,
        single_use: bool,
        idle_life: Option<Duration>,
    ) -> Result<Refreshed, RefreshRefusal> {
        self.adopt_unknown_refresh_token(token);
        let now = self.now();
        let kill_on_reuse = self.kind == NetworkKind::X;
        let Some(refresh) = self.refresh.get(token) else {
            return Err(RefreshRefusal::Unknown);
        };
        let grant = refresh.grant;
        if refresh.used {
            self.refresh_reuses += 1;
            if kill_on_reuse {
                self.kill_grant(grant);
            }
            return Err(RefreshRefusal::Reused);
        }
        let expired = refresh.expires_at.is_some_and(|end| end <= now)
            || idle_life.is_some_and(|life| refresh.last_used_at + life <= now);
        if expired || !self.grant_alive(grant) {
            return Err(RefreshRefusal::Dead);
        }
        let refresh = self.refresh.get_mut(token).expect("looked up above");
        refresh.last_used_at = now;
        refresh.used = single_use;
        let answer = (grant, refresh.scope.clone(), refresh.expires_at);
        self.count_renewal(token);
        Ok(answer)
    }

    /// Benchmark mode (`accept_unknown_tokens`): a refresh token never issued here becomes a
    /// new member's, just issued, with the network's own end (none at Google).
    fn adopt_unknown_refresh_token(&mut self, token: &str) {
        if !self.config.accept_unknown_tokens || self.refresh.contains_key(token) {
            return;
        }
        let grant = self.new_grant(&format!("bench-{}", random(8)));
        let now = self.now();
        let expires_at =
            (self.kind != NetworkKind::Google).then(|| now + super::common::refresh_ttl(self));
        self.refresh.insert(
            token.to_owned(),
            Refresh {
                grant,
                scope: self.kind.benchmark_scope(),
                last_used_at: now,
                expires_at,
                used: false,
            },
        );
    }

    /// Benchmark mode (`accept_unknown_tokens`) at Meta, which renews the access token itself:
    /// an access token never issued here becomes a new member's 60-day token, issued as long
    /// ago as a renewal requires (a day), so it may be renewed now.
    pub fn adopt_unknown_access_token(&mut self, token: &str) {
        if !self.config.accept_unknown_tokens || self.access.contains_key(token) {
            return;
        }
        let grant = self.new_grant(&format!("bench-{}", random(8)));
        let issued_at = self.now() - self.config.refresh_min_age;
        self.access.insert(
            token.to_owned(),
            Access {
                grant,
                scope: self.kind.benchmark_scope(),
                kind: AccessKind::LongLived,
                issued_at,
                expires_at: issued_at + self.config.long_lived_ttl,
            },
        );
    }

    /// Counts a refresh the network granted (for Meta, a renewal of its token).
    pub fn count_renewal(&mut self, token: &str) {
        self.refresh_grants += 1;
        *self.refresh_by_token.entry(token.to_owned()).or_default() += 1;
        self.calls.changed.notify_waiters();
    }
}

fn pkce_matches(method: Option<&str>, challenge: &str, verifier: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    match method.unwrap_or("plain") {
        "S256" => {
            let digest = sha2::Sha256::digest(verifier.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
        }
        "plain" => verifier == challenge,
        _ => false,
    }
}
