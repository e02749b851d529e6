//! The connect flow: a signed link -> LinkedIn's consent page -> the callback that stores the
//! account. Every failure path leaves the database as it was.

use super::error::PageError;
use super::pages::page;
use super::AppState;
use crate::connect_link::LinkParams;
use crate::domain::{LinkedAccount, MemberId};
use crate::store::ConnectAttempt;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `GET /connect/linkedin`: checks the link, opens an attempt with a fresh single-use state
/// and sends the browser to LinkedIn.
pub async fn start(
    State(app): State<AppState>,
    Query(params): Query<LinkParams>,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let request = app.links.verify(&params, now)?;
    let state = new_state();
    app.store
        .save_connect_attempt(&ConnectAttempt {
            state_hash: hash_state(&state),
            user_id: request.user_id.clone(),
            email: request.email,
            return_to: request.return_to.map(String::from),
            created_at: now,
            // The attempt lives as long as a fresh link would: long enough to log in to
            // LinkedIn, short enough that a leaked state is soon worthless.
            expires_at: now + app.config.connect.link_ttl,
        })
        .await?;
    tracing::info!(user_id = %request.user_id, "connect attempt started");
    let target = app.linkedin.authorize_url(&state, &app.redirect_uri());
    Ok(Redirect::to(target.as_str()).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth/linkedin/callback`: LinkedIn sends the browser back here with a code (or an
/// error). The state must match an open attempt; it is consumed whatever happens next.
pub async fn callback(
    State(app): State<AppState>,
    Query(params): Query<CallbackParams>,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let state = params
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(PageError::MissingParameter("state"))?;
    let attempt = app
        .store
        .take_connect_attempt(&hash_state(state), now)
        .await?
        .ok_or(PageError::UnknownState)?;

    if let Some(error) = params.error.as_deref() {
        if error == "user_cancelled_login" || error == "user_cancelled_authorize" {
            tracing::info!(user_id = %attempt.user_id, reason = error, "member cancelled the connection");
            return Ok(page(
                StatusCode::OK,
                "LinkedIn was not connected",
                "You cancelled on LinkedIn's page, so nothing was changed. You can connect LinkedIn at any time from the application.",
            ));
        }
        let description = params.error_description.unwrap_or_default();
        tracing::warn!(user_id = %attempt.user_id, error, description, "LinkedIn refused the authorization");
        return Err(PageError::LinkedInRefused(error.to_owned()));
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or(PageError::MissingParameter("code"))?;

    let tokens = app
        .linkedin
        .exchange_code(code, &app.redirect_uri(), now)
        .await
        .map_err(|source| PageError::LinkedIn {
            step: "the code exchange",
            source,
        })?;
    let profile = app
        .linkedin
        .userinfo(&tokens.access_token)
        .await
        .map_err(|source| PageError::LinkedIn {
            step: "reading the member's profile",
            source,
        })?;
    let member_id =
        MemberId::parse(&profile.sub).map_err(|e| PageError::UnusableProfile(e.to_string()))?;
    // Reconnect mail goes where the host app said, not to the address on the LinkedIn profile:
    // the host app knows how to reach its user.
    let account = LinkedAccount::new(
        attempt.user_id,
        member_id,
        attempt.email,
        profile.name,
        tokens,
        now,
        &app.config.refresh.expiry,
    );
    let stored = app.store.save_linked_account(&account).await?;
    tracing::info!(
        account_id = stored.id,
        user_id = %stored.user_id,
        member_id = %stored.member_id,
        expiration = %stored.expiration,
        refresh_token = stored.has_refresh_token(),
        "LinkedIn account linked"
    );
    metrics::counter!("tokenkeeper_accounts_linked_total").increment(1);

    match attempt.return_to {
        Some(back) => Ok(Redirect::to(&back).into_response()),
        None => Ok(page(
            StatusCode::OK,
            "LinkedIn is connected",
            "Your LinkedIn account is connected. You can close this window.",
        )),
    }
}

fn new_state() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Only the hash of a state is stored, so the database alone cannot complete an attempt.
fn hash_state(state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
