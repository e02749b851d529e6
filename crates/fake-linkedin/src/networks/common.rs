//! What the networks' routes share: faults, client credentials and bearer tokens as the
//! requests carry them, and the consent page.

use super::world::World;
use super::{NetworkControls, NetworkEndpoint, NetworkKind};
use crate::machinery::apply;
use crate::state::{redirect_allowed, Consent, Member};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use std::collections::HashMap;

/// Waits the configured latency of a token call, then applies the next injected fault for
/// `endpoint`, if any: `Some` is the response to send.
pub(crate) async fn fault(
    controls: &NetworkControls,
    endpoint: NetworkEndpoint,
) -> Option<Response> {
    let (fault, latency) = {
        let mut world = controls.world();
        let latency = if endpoint.issues_tokens() {
            world.config.token_latency
        } else {
            std::time::Duration::ZERO
        };
        (world.take_fault(endpoint), latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    apply(fault?).await
}

/// `Authorization: Basic base64(client_id:client_secret)`, if the request has it.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    let (id, secret) = pair.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The bearer token of an API call: the `Authorization` header, or (Graph) `access_token`
/// in the query.
pub(crate) fn bearer(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| query.get("access_token").cloned())
}

/// How a network's consent page reads its request.
pub(crate) struct AuthorizeRules {
    /// `client_id`, or TikTok's `client_key`.
    pub client_param: &'static str,
    /// How scopes are joined: a scope holding the other separator is not one the network
    /// knows, and the page refuses it.
    pub separator: char,
    /// X: `code_challenge` and `state` are required.
    pub pkce_and_state_required: bool,
}

impl AuthorizeRules {
    pub fn of(kind: NetworkKind) -> Self {
        let (client_param, separator) = match kind {
            NetworkKind::X | NetworkKind::Google => ("client_id", ' '),
            NetworkKind::TikTok => ("client_key", ','),
            _ => ("client_id", ','),
        };
        Self {
            client_param,
            separator,
            pkce_and_state_required: kind == NetworkKind::X,
        }
    }
}

fn error_page(kind: NetworkKind, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<html><body><h1>{}</h1><p>{message}</p></body></html>",
            kind.name()
        )),
    )
        .into_response()
}

/// The consent page. Problems with the request are shown on the network's own page, and the
/// browser is not sent back; a consent (or a refusal) goes back to the redirect URI.
pub(crate) async fn authorize(
    State(controls): State<NetworkControls>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&controls, NetworkEndpoint::Authorize).await {
        return r;
    }
    let mut world = controls.world();
    let kind = world.kind;
    let rules = AuthorizeRules::of(kind);
    if q.get("response_type").map(String::as_str) != Some("code") {
        return error_page(kind, "response_type must be code");
    }
    if q.get(rules.client_param) != Some(&world.config.client_id) {
        return error_page(
            kind,
            &format!("The application is not known ({}).", rules.client_param),
        );
    }
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page(kind, "redirect_uri is missing");
    };
    if !redirect_allowed(&redirect_uri, &world.config.redirect_uris) {
        return error_page(kind, "redirect_uri_mismatch");
    }
    let other = if rules.separator == ' ' { ',' } else { ' ' };
    let raw_scope = q.get("scope").map(String::as_str).unwrap_or_default();
    let scope: Vec<String> = raw_scope
        .split(rules.separator)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scope.is_empty() || scope.iter().any(|s| s.contains(other)) {
        return error_page(kind, &format!("invalid_scope: {raw_scope}"));
    }
    if rules.pkce_and_state_required
        && !(q.contains_key("code_challenge") && q.contains_key("state"))
    {
        return error_page(kind, "code_challenge and state are required");
    }
    let mut back = url::Url::parse(&redirect_uri).expect("checked above");
    {
        let mut pairs = back.query_pairs_mut();
        if world.consent == Consent::Approve {
            let code = world.issue_code(
                crate::machinery::browser_member(&headers),
                redirect_uri.clone(),
                scope,
                q.clone(),
            );
            pairs.append_pair("code", &code);
        } else {
            pairs
                .append_pair("error", "access_denied")
                .append_pair("error_description", "The user denied the request");
        }
        if let Some(s) = q.get("state") {
            pairs.append_pair("state", s);
        }
    }
    Redirect::to(back.as_str()).into_response()
}

pub(crate) fn access_ttl(world: &World) -> Duration {
    world
        .config
        .access_token_ttl
        .unwrap_or_else(|| world.kind.default_access_ttl())
}

pub(crate) fn refresh_ttl(world: &World) -> Duration {
    world
        .config
        .refresh_token_ttl
        .unwrap_or_else(|| world.kind.default_refresh_ttl())
}

/// Where a network reads the client's credentials at its token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// `Authorization: Basic`.
    Basic,
    /// The id (under this name) and `client_secret` in the form body.
    Body(&'static str),
    /// A public client: the id in the body, no secret.
    PublicBody,
}

/// Whether the request authenticates the client in one of the accepted ways.
pub(crate) fn client_authenticated(
    world: &World,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    accepted: &[ClientAuth],
) -> bool {
    let config = &world.config;
    accepted.iter().any(|way| match way {
        ClientAuth::Basic => basic_credentials(headers)
            .is_some_and(|(id, secret)| id == config.client_id && secret == config.client_secret),
        ClientAuth::Body(id_param) => {
            form.get(*id_param) == Some(&config.client_id)
                && form.get("client_secret") == Some(&config.client_secret)
        }
        ClientAuth::PublicBody => form.get("client_id") == Some(&config.client_id),
    })
}

/// The body's `grant_type`, and what kind of call that makes it.
pub(crate) fn token_endpoint(form: &HashMap<String, String>) -> NetworkEndpoint {
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => NetworkEndpoint::Refresh,
        _ => NetworkEndpoint::Token,
    }
}

/// A network's standard token endpoint (X, Google, TikTok): where it reads the client's
/// credentials, and what it answers once the client is admitted.
pub(crate) trait TokenEndpoint {
    fn client_refused(
        world: &World,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Option<Response>;
    fn answer(world: &mut World, form: &HashMap<String, String>) -> Response;
    /// Whether revoking needs the client's credentials (Google's does not).
    const REVOKE_AUTHENTICATES: bool = true;
    fn revoke(world: &mut World, token: &str) -> Response;
}

/// The token endpoint: the fault injected for this kind of call (a refresh or not), the
/// client's credentials, then the network's answer.
pub(crate) async fn token<N: TokenEndpoint>(
    State(controls): State<NetworkControls>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&controls, token_endpoint(&form)).await {
        return r;
    }
    let mut world = controls.world();
    if let Some(r) = N::client_refused(&world, &headers, &form) {
        return r;
    }
    N::answer(&mut world, &form)
}

/// The revocation endpoint: the token in the form, or (Google) in the query with an empty
/// body.
pub(crate) async fn revoke<N: TokenEndpoint>(
    State(controls): State<NetworkControls>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = fault(&controls, NetworkEndpoint::Revoke).await {
        return r;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut world = controls.world();
    if N::REVOKE_AUTHENTICATES {
        if let Some(r) = N::client_refused(&world, &headers, &form) {
            return r;
        }
    }
    let token = form.get("token").or_else(|| q.get("token"));
    N::revoke(&mut world, token.map(String::as_str).unwrap_or_default())
}

/// A network's answer to "who is this token's member?".
pub(crate) trait Identity {
    fn member(world: &World, member: &Member, query: &HashMap<String, String>) -> Response;
    /// The answer for a token the network does not take (absent, unknown, expired, revoked).
    fn refused(world: &World, token: Option<&str>) -> Response;
}

/// `/me`, `/2/users/me`, `/v1/userinfo`, `/v2/user/info/`.
pub(crate) async fn me<N: Identity>(
    State(controls): State<NetworkControls>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = fault(&controls, NetworkEndpoint::Me).await {
        return r;
    }
    let world = controls.world();
    let token = bearer(&headers, &q);
    match token.as_deref().and_then(|t| world.accepted(t)) {
        Some((_, member)) => N::member(&world, &world.member(&member), &q),
        None => N::refused(&world, token.as_deref()),
    }
}
