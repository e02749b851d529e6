//! What tests (and, over HTTP under `/_fake/`, other processes) can do to the fake.

use crate::state::{
    AccessGrant, Consent, Endpoint, Fault, InvalidRefreshStyle, Member, RefreshGrant, SeededToken,
    State,
};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A cheap handle on a running fake's state.
#[derive(Clone)]
pub struct Controls(pub(crate) Arc<Mutex<State>>);

impl Controls {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("fake LinkedIn state")
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state().now()
    }
    pub fn set_now(&self, t: DateTime<Utc>) {
        self.state().set_now(t);
    }
    pub fn advance(&self, d: Duration) {
        let mut state = self.state();
        let now = state.now();
        state.set_now(now + d);
    }
    pub fn set_partner(&self, partner: bool) {
        self.state().config.partner = partner;
    }
    pub fn set_invalid_refresh_style(&self, style: InvalidRefreshStyle) {
        self.state().config.invalid_refresh_style = style;
    }
    pub fn set_consent(&self, consent: Consent) {
        self.state().consent = consent;
    }
    pub fn login_as(&self, member: Option<Member>) {
        self.state().logged_in = member;
    }
    pub fn revoke_member(&self, sub: &str) {
        self.state().revoked.insert(sub.to_owned());
    }
    pub fn inject_fault(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        self.state().faults.push(endpoint, fault, times);
    }
    /// A fault for the refresh grants of one member only (its `sub`), as when LinkedIn
    /// answers one restricted member oddly while everyone else refreshes fine.
    pub fn inject_member_fault(&self, member: &str, fault: Fault, times: Option<u32>) {
        self.state()
            .member_faults
            .push(member.to_owned(), fault, times);
    }
    pub fn clear_faults(&self) {
        let mut state = self.state();
        state.faults.clear();
        state.member_faults.clear();
    }
    pub fn calls(&self, endpoint: Endpoint) -> u64 {
        self.state().calls.get(endpoint)
    }
    /// Completes once `endpoint` has been called at least `count` times in all.
    pub async fn wait_for_calls(&self, endpoint: Endpoint, count: u64) {
        crate::machinery::wait_until(
            || self.state().calls.changed.clone(),
            || self.calls(endpoint) >= count,
        )
        .await
    }
    pub fn refresh_grants(&self) -> u64 {
        self.state().refresh_grants
    }
    pub fn refresh_grants_for(&self, sub: &str) -> u64 {
        self.state()
            .refresh_by_member
            .get(sub)
            .copied()
            .unwrap_or(0)
    }
    pub fn refresh_token_calls_by_token(&self) -> HashMap<String, u64> {
        self.state().refresh_by_token.clone()
    }
    pub fn members(&self) -> Vec<Member> {
        self.state().members.clone()
    }
    /// Every access and refresh token still on record, including those of sign-ins the
    /// service never completed: tests look for them where no token may appear.
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.state();
        state
            .access
            .keys()
            .chain(state.refresh.keys())
            .cloned()
            .collect()
    }
    /// Puts on record an access token this fake never issued, as one an app held before it
    /// started using tokenkeeper: introspection then answers for it like for its own.
    /// `revoked` marks its member as having revoked the app.
    pub fn seed_access_token(&self, token: &str, seed: SeededToken) {
        let mut state = self.state();
        state.access.insert(
            token.to_owned(),
            AccessGrant {
                member: seed.member.clone(),
                scope: seed.scope.clone(),
                created_at: seed.authorized_at,
                expires_at: seed.expires_at,
            },
        );
        if let Some((refresh_token, expires_at)) = seed.refresh {
            let grant = RefreshGrant {
                member: seed.member.clone(),
                scope: seed.scope,
                expires_at,
            };
            state.refresh.insert(refresh_token, grant);
        }
        if seed.revoked {
            state.revoked.insert(seed.member);
        }
    }
    pub fn member_of_access_token(&self, token: &str) -> Option<String> {
        self.state().access.get(token).map(|g| g.member.clone())
    }
    pub fn reset_counters(&self) {
        let mut state = self.state();
        state.calls.clear();
        state.refresh_grants = 0;
        state.refresh_by_member.clear();
        state.refresh_by_token.clear();
    }
}

impl crate::machinery::ControlRoutes for Controls {
    fn now(&self) -> DateTime<Utc> {
        Controls::now(self)
    }
    fn set_now(&self, t: DateTime<Utc>) {
        Controls::set_now(self, t)
    }
    fn advance(&self, d: Duration) {
        Controls::advance(self, d)
    }
    fn revoke_member(&self, member: &str) {
        Controls::revoke_member(self, member)
    }
    fn clear_faults(&self) {
        Controls::clear_faults(self)
    }
    fn add_fault(&self, req: crate::machinery::FaultRequest) -> Result<(), String> {
        let endpoint = match req.endpoint.as_str() {
            "authorize" => Endpoint::Authorize,
            "token" => Endpoint::Token,
            "introspect" => Endpoint::Introspect,
            "userinfo" => Endpoint::Userinfo,
            other => return Err(format!("unknown endpoint {other}")),
        };
        let fault = crate::machinery::parse_fault(&req.fault).ok_or("unknown fault")?;
        match req.member {
            Some(member) if endpoint == Endpoint::Token => {
                self.inject_member_fault(&member, fault, req.times)
            }
            Some(_) => return Err("member faults apply to the token endpoint only".into()),
            None => self.inject_fault(endpoint, fault, req.times),
        }
        Ok(())
    }
    fn stats(&self) -> serde_json::Value {
        let calls = |e| self.calls(e);
        serde_json::json!({
            "calls": {
                "authorize": calls(Endpoint::Authorize),
                "token": calls(Endpoint::Token),
                "introspect": calls(Endpoint::Introspect),
                "userinfo": calls(Endpoint::Userinfo),
            },
            "refresh_grants": self.refresh_grants(),
            "now": self.now(),
        })
    }
}
