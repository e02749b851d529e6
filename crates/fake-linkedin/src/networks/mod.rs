//! Fakes of the other networks tokenkeeper keeps tokens for: X, Google, TikTok, Instagram,
//! Threads and Facebook. Each answers on its network's own paths, with its quirks, and has
//! the same controls as the LinkedIn fake: a movable clock, revocation, faults
//! ([`Fault`](crate::Fault), `Hold(Gate)` included) and counters, plus the two checks a
//! simulation needs: [`NetworkControls::accepts`] (would the network take this access token
//! now?) and [`NetworkControls::refresh_token_reuses`] (was a used single-use refresh token
//! presented again?).

mod common;
mod google;
mod meta;
mod tiktok;
mod world;
mod x;

use crate::machinery::{ControlRoutes, FaultRequest, Server};
use crate::state::{Consent, Fault, Member};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use world::World;

/// The networks faked here besides LinkedIn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    X,
    Google,
    TikTok,
    Instagram,
    Threads,
    Facebook,
}

impl NetworkKind {
    pub const ALL: [NetworkKind; 6] = [
        NetworkKind::X,
        NetworkKind::Google,
        NetworkKind::TikTok,
        NetworkKind::Instagram,
        NetworkKind::Threads,
        NetworkKind::Facebook,
    ];

    /// The lowercase name, as in tokenkeeper's `kind = …`.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::X => "x",
            NetworkKind::Google => "google",
            NetworkKind::TikTok => "tiktok",
            NetworkKind::Instagram => "instagram",
            NetworkKind::Threads => "threads",
            NetworkKind::Facebook => "facebook",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Access token life: X and TikTok 2 h, Google 1 h (`expires_in` 3599), Meta's code
    /// exchange one hour (its long-lived tokens: [`FakeNetworkConfig::long_lived_ttl`]).
    fn default_access_ttl(self) -> Duration {
        match self {
            NetworkKind::X | NetworkKind::TikTok => Duration::hours(2),
            NetworkKind::Google => Duration::seconds(3599),
            _ => Duration::hours(1),
        }
    }

    /// The token URL's path (see [`FakeNetwork::token_url`]), for a client that knows only
    /// where a fake of this network listens (one in another process).
    pub fn token_path(self) -> &'static str {
        match self {
            NetworkKind::X => "/2/oauth2/token",
            NetworkKind::Google => "/token",
            NetworkKind::TikTok => "/v2/oauth/token/",
            NetworkKind::Instagram | NetworkKind::Threads => "/oauth/access_token",
            NetworkKind::Facebook => "/v22.0/oauth/access_token",
        }
    }

    /// What a token adopted in benchmark mode was granted: what renewing it needs (X's
    /// `offline.access`, Meta's basic permission).
    fn benchmark_scope(self) -> Vec<String> {
        let scope: &[&str] = match self {
            NetworkKind::X => &["tweet.read", "users.read", "offline.access"],
            NetworkKind::Google => &["openid", "email", "profile"],
            NetworkKind::TikTok => &["user.info.basic"],
            NetworkKind::Instagram => &["instagram_business_basic"],
            NetworkKind::Threads => &["threads_basic"],
            NetworkKind::Facebook => &["public_profile"],
        };
        scope.iter().map(|s| s.to_string()).collect()
    }

    /// X: a refresh token lives 6 months from its issue (reported, not documented).
    /// Google: a refresh token dies after 6 months unused. TikTok: the chain ends 180 days
    /// after the consent; rotating does not move the end (`refresh_expires_in` is the time
    /// left). Meta has no refresh tokens.
    pub(crate) fn default_refresh_ttl(self) -> Duration {
        match self {
            NetworkKind::X | NetworkKind::Google => Duration::days(183),
            _ => Duration::days(180),
        }
    }
}

/// Calls counted and faulted separately. The paths differ per network; these are what the
/// calls do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkEndpoint {
    /// The consent page.
    Authorize,
    /// The code exchange (and any token call that is not a refresh).
    Token,
    /// A refresh: the `refresh_token` grant (X, Google, TikTok), `ig_refresh_token`
    /// (Instagram), `th_refresh_token` (Threads), or Facebook's `fb_exchange_token`.
    Refresh,
    /// Meta's short-lived to long-lived exchange (`ig_exchange_token`, `th_exchange_token`).
    /// Facebook's exchange is its refresh, counted as [`NetworkEndpoint::Refresh`].
    Exchange,
    /// Revocation (X, Google, TikTok, Facebook's `DELETE /{user}/permissions`).
    Revoke,
    /// Who the token belongs to: `/2/users/me`, `/v1/userinfo`, `/v2/user/info/`, `/me`,
    /// and Facebook's `/debug_token`.
    Me,
}

impl NetworkEndpoint {
    /// Calls that hand out tokens, which `FakeNetworkConfig::token_latency` slows down.
    fn issues_tokens(self) -> bool {
        matches!(
            self,
            NetworkEndpoint::Token | NetworkEndpoint::Refresh | NetworkEndpoint::Exchange
        )
    }
}

#[derive(Debug, Clone)]
pub struct FakeNetworkConfig {
    pub client_id: String,
    pub client_secret: String,
    /// X: a confidential client must authenticate with HTTP Basic at the token endpoint; a
    /// public one sends `client_id` in the body instead.
    pub confidential_client: bool,
    /// `None`: the network's own (see [`NetworkKind`]).
    pub access_token_ttl: Option<Duration>,
    /// `None`: the network's own (see [`NetworkKind`]).
    pub refresh_token_ttl: Option<Duration>,
    /// Meta's long-lived tokens: 60 days.
    pub long_lived_ttl: Duration,
    /// Meta: a long-lived token can be refreshed only once it is this old.
    pub refresh_min_age: Duration,
    /// Google: an app in "Testing" with an external audience; every authorization dies seven
    /// days after consent, refresh token included.
    pub google_testing_mode: bool,
    /// Google: live refresh tokens per member and client; one more silently kills the oldest.
    pub google_refresh_token_limit: usize,
    pub code_ttl: Duration,
    /// Registered redirect URIs; empty accepts any http(s) URI.
    pub redirect_uris: Vec<String>,
    pub start_time: DateTime<Utc>,
    /// Whether the clock runs with real time (the default); tests comparing instants stop it.
    pub clock_runs: bool,
    /// Benchmark mode: a token this fake never issued, presented to be renewed, is taken as
    /// a new member's (benchmarks seed their own rows). X, Google and TikTok take an unknown
    /// refresh token as one just issued with the network's own life; Instagram, Threads and
    /// Facebook, which renew the access token itself, take an unknown access token as a
    /// 60-day one a day old, so that it may be renewed at once.
    pub accept_unknown_tokens: bool,
    /// Latency added to every token call (the code exchange, a refresh, Meta's exchange), as
    /// the LinkedIn fake's `token_latency`: benchmarks model the network's answer time.
    pub token_latency: std::time::Duration,
}

impl Default for FakeNetworkConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-client-id".into(),
            client_secret: "fake-client-secret".into(),
            confidential_client: true,
            access_token_ttl: None,
            refresh_token_ttl: None,
            long_lived_ttl: Duration::days(60),
            refresh_min_age: Duration::hours(24),
            google_testing_mode: false,
            google_refresh_token_limit: 100,
            code_ttl: Duration::minutes(10),
            redirect_uris: Vec::new(),
            start_time: Utc::now(),
            clock_runs: true,
            accept_unknown_tokens: false,
            token_latency: std::time::Duration::ZERO,
        }
    }
}

/// A running fake of one network on a real socket. Dropping it stops the server.
pub struct FakeNetwork {
    kind: NetworkKind,
    server: Server,
    controls: NetworkControls,
}

impl FakeNetwork {
    pub async fn start(kind: NetworkKind, config: FakeNetworkConfig) -> anyhow::Result<Self> {
        Self::start_on(kind, SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(
        kind: NetworkKind,
        addr: SocketAddr,
        config: FakeNetworkConfig,
    ) -> anyhow::Result<Self> {
        let controls = NetworkControls(Arc::new(Mutex::new(World::new(kind, config))));
        let routes = match kind {
            NetworkKind::X => x::routes(),
            NetworkKind::Google => google::routes(),
            NetworkKind::TikTok => tiktok::routes(),
            NetworkKind::Instagram | NetworkKind::Threads => meta::routes(kind),
            NetworkKind::Facebook => meta::facebook_routes(),
        };
        let app = routes
            .merge(crate::machinery::control_routes())
            .with_state(controls.clone())
            .layer(axum::middleware::from_fn(
                crate::machinery::finish_unattended,
            ));
        let server = Server::start(addr, app).await?;
        Ok(Self {
            kind,
            server,
            controls,
        })
    }

    pub fn kind(&self) -> NetworkKind {
        self.kind
    }
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }
    /// The consent page: X `/i/oauth2/authorize`, Google `/o/oauth2/v2/auth`, TikTok
    /// `/v2/auth/authorize/`, Instagram and Threads `/oauth/authorize`, Facebook
    /// `/v22.0/dialog/oauth`.
    pub fn authorize_url(&self) -> String {
        self.url(match self.kind {
            NetworkKind::X => "/i/oauth2/authorize",
            NetworkKind::Google => "/o/oauth2/v2/auth",
            NetworkKind::TikTok => "/v2/auth/authorize/",
            NetworkKind::Instagram | NetworkKind::Threads => "/oauth/authorize",
            NetworkKind::Facebook => "/v22.0/dialog/oauth",
        })
    }
    /// The code exchange (and, for X, Google and TikTok, the refresh): X `/2/oauth2/token`,
    /// Google `/token`, TikTok `/v2/oauth/token/`, Instagram and Threads
    /// `/oauth/access_token`, Facebook `/v22.0/oauth/access_token` (its `fb_exchange_token`
    /// too).
    pub fn token_url(&self) -> String {
        self.url(self.kind.token_path())
    }
    /// Meta's GET exchange of a short-lived token (`ig_exchange_token`, `th_exchange_token`;
    /// Facebook's `fb_exchange_token` is on the token URL).
    pub fn exchange_url(&self) -> String {
        match self.kind {
            NetworkKind::Facebook => self.token_url(),
            _ => self.url("/access_token"),
        }
    }
    /// Meta's GET renewal of a long-lived token (`ig_refresh_token`, `th_refresh_token`;
    /// Facebook renews with `fb_exchange_token` on the token URL). Elsewhere the token URL.
    pub fn refresh_url(&self) -> String {
        match self.kind {
            NetworkKind::Instagram | NetworkKind::Threads => self.url("/refresh_access_token"),
            _ => self.token_url(),
        }
    }
    /// X `/2/oauth2/revoke`, Google `/revoke`, TikTok `/v2/oauth/revoke/`; Facebook revokes
    /// with `DELETE /v22.0/{user-id}/permissions`; Instagram and Threads have none.
    pub fn revoke_url(&self) -> Option<String> {
        match self.kind {
            NetworkKind::X => Some(self.url("/2/oauth2/revoke")),
            NetworkKind::Google => Some(self.url("/revoke")),
            NetworkKind::TikTok => Some(self.url("/v2/oauth/revoke/")),
            NetworkKind::Facebook => Some(self.url("/v22.0/me/permissions")),
            NetworkKind::Instagram | NetworkKind::Threads => None,
        }
    }
    /// Who a token belongs to: X `/2/users/me`, Google `/v1/userinfo`, TikTok
    /// `/v2/user/info/`, Instagram `/v21.0/me`, Threads `/v1.0/me`, Facebook `/v22.0/me`.
    pub fn me_url(&self) -> String {
        self.url(match self.kind {
            NetworkKind::X => "/2/users/me",
            NetworkKind::Google => "/v1/userinfo",
            NetworkKind::TikTok => "/v2/user/info/",
            NetworkKind::Instagram => "/v21.0/me",
            NetworkKind::Threads => "/v1.0/me",
            NetworkKind::Facebook => "/v22.0/me",
        })
    }

    /// Facebook's `debug_token` (`/v22.0/debug_token`); the others have no introspection.
    pub fn debug_token_url(&self) -> Option<String> {
        (self.kind == NetworkKind::Facebook).then(|| self.url("/v22.0/debug_token"))
    }

    /// Google's discovery document (`/.well-known/openid-configuration`), naming this fake's
    /// endpoints; no other network here publishes one for its OAuth flow.
    pub fn discovery_url(&self) -> Option<String> {
        (self.kind == NetworkKind::Google).then(|| self.url("/.well-known/openid-configuration"))
    }

    pub fn controls(&self) -> NetworkControls {
        self.controls.clone()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await
    }
}

/// Tokens put on record by [`NetworkControls::issue_tokens`].
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
    pub refresh_token: Option<String>,
}

/// A cheap handle on a running network fake's state.
#[derive(Clone)]
pub struct NetworkControls(Arc<Mutex<World>>);

impl NetworkControls {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.0.lock().expect("fake network state")
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.world().now()
    }
    pub fn set_now(&self, t: DateTime<Utc>) {
        self.world().clock.set(t);
    }
    pub fn advance(&self, d: Duration) {
        let mut world = self.world();
        let now = world.now();
        world.clock.set(now + d);
    }
    pub fn set_consent(&self, consent: Consent) {
        self.world().consent = consent;
    }
    pub fn login_as(&self, member: Option<Member>) {
        self.world().logged_in = member;
    }
    /// Google: put the app in (or out of) testing mode.
    pub fn set_google_testing_mode(&self, on: bool) {
        self.world().config.google_testing_mode = on;
    }
    /// The member removes the app at the network: every token they gave dies.
    pub fn revoke_member(&self, member: &str) {
        self.world().revoke_member(member);
    }
    pub fn inject_fault(&self, endpoint: NetworkEndpoint, fault: Fault, times: Option<u32>) {
        self.world().faults.push(endpoint, fault, times);
    }
    pub fn clear_faults(&self) {
        self.world().faults.clear();
    }
    pub fn calls(&self, endpoint: NetworkEndpoint) -> u64 {
        self.world().calls.get(endpoint)
    }
    /// Completes once `endpoint` has been called at least `count` times in all.
    pub async fn wait_for_calls(&self, endpoint: NetworkEndpoint, count: u64) {
        crate::machinery::wait_until(
            || self.world().calls.changed.clone(),
            || self.calls(endpoint) >= count,
        )
        .await
    }
    /// Refreshes the network answered with new tokens.
    pub fn refresh_grants(&self) -> u64 {
        self.world().refresh_grants
    }
    /// Completes once the network has granted at least `count` refreshes in all.
    pub async fn wait_for_refresh_grants(&self, count: u64) {
        crate::machinery::wait_until(
            || self.world().calls.changed.clone(),
            || self.refresh_grants() >= count,
        )
        .await
    }
    /// How many times a used single-use refresh token (X, TikTok) was presented again.
    pub fn refresh_token_reuses(&self) -> u64 {
        self.world().refresh_reuses
    }
    /// Successful refreshes per refresh token (for Meta, per renewed access token).
    pub fn refresh_calls_by_token(&self) -> HashMap<String, u64> {
        self.world().refresh_by_token.clone()
    }
    /// Whether the network takes this access token now: issued here, unexpired, its grant
    /// neither revoked nor killed.
    pub fn accepts(&self, access_token: &str) -> bool {
        self.world().accepted(access_token).is_some()
    }
    /// Whether this refresh token would be taken now (for Meta, which has none: false).
    pub fn refresh_token_usable(&self, refresh_token: &str) -> bool {
        self.world().refresh_usable(refresh_token)
    }
    /// Tokens for `member` as if they had just consented to `scope`, without the consent
    /// page: for benchmarks, imports and demos that start from linked members. Networks with
    /// refresh tokens give one (X, Google, TikTok); Meta's give a 60-day token.
    pub fn issue_tokens(&self, member: Member, scope: &[&str]) -> IssuedTokens {
        let mut world = self.world();
        if !world.members.iter().any(|m| m.sub == member.sub) {
            world.members.push(member.clone());
        }
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        let grant = world.new_grant(&member.sub);
        let meta = matches!(
            world.kind,
            NetworkKind::Instagram | NetworkKind::Threads | NetworkKind::Facebook
        );
        let (kind, ttl) = if meta {
            (world::AccessKind::LongLived, world.config.long_lived_ttl)
        } else {
            (world::AccessKind::Bearer, common::access_ttl(&world))
        };
        let access_token = world.issue_access(grant, &scope, kind, ttl);
        let expires_at = world.now() + ttl;
        let refresh_token = (!meta).then(|| {
            // Google's refresh tokens have no fixed end; X's and TikTok's do.
            let end = (world.kind != NetworkKind::Google)
                .then(|| world.now() + common::refresh_ttl(&world));
            world.issue_refresh(grant, &scope, end)
        });
        IssuedTokens {
            access_token,
            expires_at,
            refresh_token,
        }
    }
    pub fn member_of_access_token(&self, token: &str) -> Option<String> {
        let world = self.world();
        let grant = world.access.get(token)?.grant;
        Some(world.grants.get(&grant)?.member.clone())
    }
    pub fn members(&self) -> Vec<Member> {
        self.world().members.clone()
    }
    pub fn reset_counters(&self) {
        let mut world = self.world();
        world.calls.clear();
        world.refresh_grants = 0;
        world.refresh_reuses = 0;
        world.refresh_by_token.clear();
    }
}

impl ControlRoutes for NetworkControls {
    fn now(&self) -> DateTime<Utc> {
        NetworkControls::now(self)
    }
    fn set_now(&self, t: DateTime<Utc>) {
        NetworkControls::set_now(self, t)
    }
    fn advance(&self, d: Duration) {
        NetworkControls::advance(self, d)
    }
    fn revoke_member(&self, member: &str) {
        NetworkControls::revoke_member(self, member)
    }
    fn clear_faults(&self) {
        NetworkControls::clear_faults(self)
    }
    fn add_fault(&self, req: FaultRequest) -> Result<(), String> {
        if req.member.is_some() {
            return Err("member faults are LinkedIn's only".into());
        }
        let endpoint = endpoint_named(&req.endpoint)
            .ok_or_else(|| format!("unknown endpoint {}", req.endpoint))?;
        let fault = crate::machinery::parse_fault(&req.fault).ok_or("unknown fault")?;
        self.inject_fault(endpoint, fault, req.times);
        Ok(())
    }
    fn stats(&self) -> serde_json::Value {
        let calls: serde_json::Map<_, _> = ENDPOINT_NAMES
            .iter()
            .map(|(name, e)| (name.to_string(), self.calls(*e).into()))
            .collect();
        serde_json::json!({
            "network": self.world().kind.name(),
            "calls": calls,
            "refresh_grants": self.refresh_grants(),
            "refresh_token_reuses": self.refresh_token_reuses(),
            "now": self.now(),
        })
    }
}

const ENDPOINT_NAMES: [(&str, NetworkEndpoint); 6] = [
    ("authorize", NetworkEndpoint::Authorize),
    ("token", NetworkEndpoint::Token),
    ("refresh", NetworkEndpoint::Refresh),
    ("exchange", NetworkEndpoint::Exchange),
    ("revoke", NetworkEndpoint::Revoke),
    ("me", NetworkEndpoint::Me),
];

fn endpoint_named(name: &str) -> Option<NetworkEndpoint> {
    ENDPOINT_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| *e)
}
