//! The connect flow: a signed link -> the network's consent page -> the callback that stores
//! the account. One flow per configured provider, on its own paths (`/connect/{provider}`,
//! `/oauth/{provider}/callback`; LinkedIn's are `/connect/linkedin` and
//! `/oauth/linkedin/callback`, as they always were). Every failure path leaves the database as
//! it was. A flow finishes only in the browser that started it, a link completes one
//! connection, and an account keeps its member unless the link says otherwise.

use super::browser::BrowserNonce;
use super::error::PageError;
use super::pages::page;
use super::AppState;
use crate::connect_link::LinkParams;
use crate::domain::EnumText;
use crate::domain::{LinkedAccount, MemberId, PkceVerifier, ProviderName, UserId};
use crate::provider::{AuthorizeRequest, Pkce, Provider};
use crate::secret_values::{hex_sha256, random_token};
use crate::store::{AttemptLookup, ConnectAttempt, ConnectOutcome, LinkUse};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use strum::{IntoStaticStr, VariantArray};

/// The provider a connect path names; `None` answers with the page saying there is none.
fn provider_at(app: &AppState, path: &str) -> Option<Arc<dyn Provider>> {
    ProviderName::parse(path)
        .ok()
        .and_then(|name| app.providers.find(&name).cloned())
}

/// `GET /connect/{provider}`: checks the link, opens an attempt with a fresh single-use state
/// bound to this browser, and sends the browser to the network. Opening a link does not use
/// it up (mail scanners open links): only a completed connection does.
pub async fn start(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(params): Query<LinkParams>,
) -> Response {
    let Some(provider) = provider_at(&app, &provider) else {
        return PageError::UnknownProvider.into_response();
    };
    start_at(&app, provider.as_ref(), &headers, &params)
        .await
        .unwrap_or_else(|error| error.page_for(provider.display_name()))
}

async fn start_at(
    app: &AppState,
    provider: &dyn Provider,
    headers: &HeaderMap,
    params: &LinkParams,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let request = app.links.verify_for(provider.name(), params, now)?;
    // Before anything is written: an OpenID issuer's document says whether PKCE is taken.
    provider
        .prepare()
        .await
        .map_err(|source| PageError::LinkedIn {
            step: "reading its configuration",
            source,
        })?;
    if app.connect.connect_link_used(&request.link_hash).await? {
        return Err(refused(Refusal::LinkUsed, &request.user_id));
    }
    let secure = app.public_url.scheme() == "https";
    let browser = BrowserNonce::from_request(headers, secure).unwrap_or_else(BrowserNonce::new);
    let state = new_state();
    // LinkedIn takes no PKCE (a verifier fails its exchange); X requires it.
    let pkce = (provider.capabilities().pkce != Pkce::Off).then(PkceVerifier::fresh);
    app.connect
        .save_connect_attempt(&ConnectAttempt {
            state_hash: hash_state(&state),
            browser_hash: browser.hash(),
            link: LinkUse {
                link_hash: request.link_hash,
                // The used-mark must outlive every attempt opened through the link, or a tab
                // opened just before the link expired could complete it a second time once the
                // mark was purged.
                expires_at: request.expires_at.max(now + app.config.connect.link_ttl),
                allow_member_change: request.options.allow_member_change,
            },
            provider: request.provider.clone(),
            pkce_verifier: pkce.clone(),
            user_id: request.user_id.clone(),
            email: request.email,
            return_to: request.return_to.map(String::from),
            created_at: now,
            // The attempt lives as long as a fresh link would: long enough to log in to
            // LinkedIn, short enough that a leaked state is soon worthless.
            expires_at: now + app.config.connect.link_ttl,
        })
        .await?;
    tracing::info!(user_id = %request.user_id, provider = %request.provider, "connect attempt started");
    let redirect_uri = app.redirect_uri_of(provider.name());
    let target = provider.authorize_url(&AuthorizeRequest {
        state: &state,
        redirect_uri: &redirect_uri,
        pkce: pkce.as_ref(),
    });
    let mut response = Redirect::to(target.as_str()).into_response();
    let headers = response.headers_mut();
    browser.set_cookie(headers, secure, app.config.connect.link_ttl.num_seconds());
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth/{provider}/callback`: the network sends the browser back here with a code (or
/// an error). The state must match an open attempt of this browser, through this provider;
/// it is consumed whatever happens next.
pub async fn callback(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let Some(provider) = provider_at(&app, &provider) else {
        return PageError::UnknownProvider.into_response();
    };
    callback_at(&app, provider.as_ref(), &headers, &params)
        .await
        .unwrap_or_else(|error| error.page_for(provider.display_name()))
}

async fn callback_at(
    app: &AppState,
    provider: &dyn Provider,
    headers: &HeaderMap,
    params: &CallbackParams,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let state = params
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(PageError::MissingParameter("state"))?;
    let secure = app.public_url.scheme() == "https";
    let browser = BrowserNonce::from_request(headers, secure).map(|b| b.hash());
    let attempt = match app
        .connect
        .take_connect_attempt(&hash_state(state), browser.as_deref(), now)
        .await?
    {
        AttemptLookup::Taken(attempt) => attempt,
        AttemptLookup::OtherBrowser(user_id) => {
            return Err(refused(Refusal::OtherBrowser, &user_id))
        }
        AttemptLookup::Unknown => return Err(PageError::UnknownState),
    };
    // An attempt started for another provider ends here too: its state is spent either way.
    if &attempt.provider != provider.name() {
        tracing::warn!(user_id = %attempt.user_id, started_with = %attempt.provider, came_back_to = %provider.name(), "callback at another provider's path");
        return Err(PageError::UnknownState);
    }
    let network = provider.display_name();

    if let Some(error) = params.error.as_deref() {
        if error == "user_cancelled_login" || error == "user_cancelled_authorize" {
            tracing::info!(user_id = %attempt.user_id, reason = error, "member cancelled the connection");
            return Ok(page(
                StatusCode::OK,
                &format!("{network} was not connected"),
                &format!("You cancelled on {network}'s page, so nothing was changed. You can connect {network} at any time from the application."),
            ));
        }
        // Both come from the query string, so anyone can write them: cut to one short line.
        let error = crate::telemetry::outside_text(error);
        let description =
            crate::telemetry::outside_text(params.error_description.as_deref().unwrap_or(""));
        tracing::warn!(user_id = %attempt.user_id, provider = %provider.name(), error, description, "{network} refused the authorization");
        return Err(PageError::LinkedInRefused(error));
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or(PageError::MissingParameter("code"))?;
    // Settled for good by the write below; asked here too so that a used link costs no call
    // to LinkedIn.
    if app
        .connect
        .connect_link_used(&attempt.link.link_hash)
        .await?
    {
        return Err(refused(Refusal::LinkUsed, &attempt.user_id));
    }

    let grant = provider
        .exchange_code(
            code,
            &app.redirect_uri_of(provider.name()),
            attempt.pkce_verifier.as_ref(),
            now,
        )
        .await
        .map_err(|source| PageError::LinkedIn {
            step: "the code exchange",
            source,
        })?;
    let profile = provider
        .identify(&grant)
        .await
        .map_err(|source| PageError::LinkedIn {
            step: "reading the member's profile",
            source,
        })?;
    let member_id =
        MemberId::parse(&profile.subject).map_err(|e| PageError::UnusableProfile(e.to_string()))?;
    // Reconnect mail goes where the host app said, not to the address on the LinkedIn profile:
    // the host app knows how to reach its user.
    let account = LinkedAccount::new(
        attempt.user_id.clone(),
        member_id,
        attempt.email,
        profile.name,
        grant.tokens,
        now,
        &provider.expiry_policy(app.config.refresh.expiry()),
    )
    .through(provider.name().clone());
    let stored = match app
        .connect
        .complete_connect(&account, &attempt.link, now)
        .await?
    {
        ConnectOutcome::Linked(stored) => *stored,
        ConnectOutcome::LinkAlreadyUsed => {
            return Err(refused(Refusal::LinkUsed, &attempt.user_id))
        }
        ConnectOutcome::MemberChanged => {
            return Err(refused(Refusal::MemberChanged, &attempt.user_id))
        }
    };
    tracing::info!(
        account_id = stored.id,
        user_id = %stored.user_id,
        provider = %stored.provider,
        member_id = %stored.member_id,
        expiration = %stored.expiration,
        refresh_token = stored.has_refresh_token(),
        "account linked"
    );
    metrics::counter!("tokenkeeper_accounts_linked_total").increment(1);

    match attempt.return_to {
        Some(back) => Ok(Redirect::to(&back).into_response()),
        None => Ok(page(
            StatusCode::OK,
            &format!("{network} is connected"),
            &format!("Your {network} account is connected. You can close this window."),
        )),
    }
}

/// Why a connect flow was refused: each is logged and counted, as it may be an attack.
#[derive(Debug, Clone, Copy, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
enum Refusal {
    /// The callback came to a browser other than the one that started the attempt.
    OtherBrowser,
    /// The link has already completed a connection.
    LinkUsed,
    /// The account is linked to another LinkedIn member and the link allows no change.
    MemberChanged,
}

impl EnumText for Refusal {
    const WHAT: &'static str = "connect refusal";
}

impl Refusal {}

fn refused(reason: Refusal, user_id: &UserId) -> PageError {
    tracing::warn!(%user_id, reason = reason.as_str(), "connect flow refused");
    metrics::counter!("tokenkeeper_connect_refused_total", "reason" => reason.as_str())
        .increment(1);
    match reason {
        Refusal::OtherBrowser => PageError::OtherBrowser,
        Refusal::LinkUsed => PageError::LinkUsed,
        Refusal::MemberChanged => PageError::MemberChanged,
    }
}

fn new_state() -> String {
    random_token(32)
}

/// Only the hash of a state is stored, so the database alone cannot complete an attempt.
fn hash_state(state: &str) -> String {
    hex_sha256(state.as_bytes())
}
