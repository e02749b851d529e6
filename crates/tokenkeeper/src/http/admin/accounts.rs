//! Accounts: the searchable list, one account's page with its timeline, and what an operator
//! may do to it (refresh now through the host API's path, delete after a confirmation).
//! Nothing here prints a token: the list reads token-free summaries, and the account page
//! names each field it shows.
//!
//! URLs name an account by its number (`/admin/accounts/17`), never by its user id. A user id
//! is the host app's and may be anything: `team/ada`, `x/../victim`, `..`. No path encoding
//! carries every one intact through a browser, which removes `..` segments before it sends a
//! request, `%2e%2e` ones included; a number needs no encoding. The numbers only grow on every
//! backend, so a page left open can never act on an account linked after it was shown.

use super::login::CsrfOnly;
use super::overview::shown_time;
use super::render::view;
use super::render::PageError;
use super::sign_in::Operator;
use crate::domain::EnumText;
use crate::domain::{Account, AccountStatus, ProviderName};
use crate::http::demand_outcome::client_refused;
use crate::http::provider_param::network_of;
use crate::http::AppState;
use crate::refresh::{Demand, OnDemand};
use crate::store::AccountSearch;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    /// A configured provider's name; any other value (or none) lists every provider's.
    #[serde(default)]
    provider: String,
    #[serde(default)]
    after: i64,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    user_id: String,
    provider: String,
    email: String,
    status: &'static str,
    expiration: String,
    token_expires_at: String,
}

pub async fn list(
    State(app): State<AppState>,
    operator: Operator,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let status = AccountStatus::parse(&params.status).ok();
    let provider = ProviderName::parse(&params.provider)
        .ok()
        .filter(|name| app.providers.find(name).is_some());
    let query = Some(params.q.trim().to_owned()).filter(|q| !q.is_empty());
    let summaries = app
        .admin
        .search_accounts_of(
            &AccountSearch {
                query: query.clone(),
                status,
                after_id: params.after.max(0),
                limit: PAGE_SIZE,
            },
            provider.as_ref(),
        )
        .await?;
    let next = (summaries.len() as i64 == PAGE_SIZE)
        .then(|| summaries.last())
        .flatten()
        .map(|last| {
            let mut url = url::Url::parse("http://x/admin/accounts").expect("a URL");
            url.query_pairs_mut()
                .append_pair("q", query.as_deref().unwrap_or(""))
                .append_pair("status", status.map_or("", AccountStatus::as_str))
                .append_pair(
                    "provider",
                    provider.as_ref().map_or("", ProviderName::as_str),
                )
                .append_pair("after", &last.id.to_string());
            format!("/admin/accounts?{}", url.query().unwrap_or(""))
        });
    let accounts: Vec<Row> = summaries
        .into_iter()
        .map(|a| Row {
            id: a.id,
            user_id: a.user_id.to_string(),
            provider: a.provider.to_string(),
            email: a.email,
            status: a.status.as_str(),
            expiration: shown_time(a.expiration),
            token_expires_at: shown_time(a.token_expires_at),
        })
        .collect();
    Ok(operator.dashboard.templates.page(
        StatusCode::OK,
        "accounts.html",
        context! {
            title => "Accounts",
            csrf => &operator.csrf,
            q => query.as_deref().unwrap_or_default(),
            status => status.map(AccountStatus::as_str),
            all_statuses => AccountStatus::ALL.iter().copied().map(AccountStatus::as_str).collect::<Vec<_>>(),
            provider => provider.as_ref().map(ProviderName::as_str),
            all_providers => app.providers.iter().map(|(name, _)| name.to_string()).collect::<Vec<_>>(),
            accounts => view(&accounts),
            next,
        },
    ))
}

#[derive(Serialize)]
struct Event {
    at: String,
    what: String,
    detail: String,
    #[serde(skip)]
    when: DateTime<Utc>,
}

impl Event {
    /// An event at `when`, shown as the pages show times.
    fn new(when: DateTime<Utc>, what: String, detail: String) -> Self {
        Self {
            at: shown_time(when),
            what,
            detail,
            when,
        }
    }
}

pub async fn one(
    State(app): State<AppState>,
    operator: Operator,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    if number.parse::<i64>().is_err() {
        // A link from before URLs named accounts by number: the search finds it by user id.
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &number)
            .finish();
        return Ok(Redirect::to(&format!("/admin/accounts?{query}")).into_response());
    }
    account_page(&app, &operator, &number, None).await
}

/// The account a URL's `number` names, if there is one.
async fn numbered(app: &AppState, number: &str) -> Result<Option<Account>, PageError> {
    match number.parse::<i64>() {
        Ok(id) => Ok(app.accounts.account_by_id(id).await?),
        Err(_) => Ok(None),
    }
}

/// The account's page, with what an action just did on top.
async fn account_page(
    app: &AppState,
    operator: &Operator,
    number: &str,
    flash: Option<String>,
) -> Result<Response, PageError> {
    let templates = &operator.dashboard.templates;
    let Some(account) = numbered(app, number).await? else {
        return Ok(no_such_account(operator, number, flash));
    };
    // The network as people write it; a provider the configuration lost, by its name.
    let network = network_of(app, &account.provider);
    let mut timeline = vec![Event::new(
        account.linked_at,
        "linked".into(),
        format!("{network} member {}", account.member_id),
    )];
    for entry in app.admin.refresh_log_for(account.id).await? {
        let mut detail = format!(
            "{} (attempt {}, {} ms)",
            if entry.run_id.is_some() {
                "sweep"
            } else {
                "on demand"
            },
            entry.attempt,
            entry.duration_ms
        );
        if let Some(status) = entry.http_status {
            detail.push_str(&format!(", HTTP {status}"));
        }
        if let Some(code) = &entry.error_code {
            detail.push_str(&format!(", {network} error {code}"));
        }
        timeline.push(Event::new(
            entry.attempted_at,
            format!("refresh: {}", entry.outcome.as_str()),
            detail,
        ));
    }
    for email in app.admin.notifications_for(account.id).await? {
        let mut detail = format!("{} after {} attempt(s)", email.status, email.attempts);
        if let Some(error) = &email.last_error {
            detail.push_str(&format!(": {error}"));
        }
        timeline.push(Event::new(
            email.created_at,
            format!("email: {}", email.kind.as_str()),
            detail,
        ));
    }
    timeline.sort_by_key(|event| std::cmp::Reverse(event.when));
    let refresh_token = match (
        account.has_refresh_token(),
        account.refresh_token_expires_at,
    ) {
        (false, _) => "none".to_owned(),
        (true, Some(end)) => format!("held, ends {}", shown_time(end)),
        (true, None) => "held".to_owned(),
    };
    Ok(templates.page(
        StatusCode::OK,
        "account.html",
        context! {
            title => format!("Account {}", account.user_id),
            csrf => &operator.csrf,
            flash,
            a => context! {
                id => account.id,
                user_id => account.user_id.to_string(),
                provider => account.provider.to_string(),
                network,
                member_id => account.member_id.to_string(),
                email => account.email.to_string(),
                status => account.status.as_str(),
                linked_at => shown_time(account.linked_at),
                last_refreshed_at => account.last_refreshed_at.map(shown_time),
                expiration => shown_time(account.expiration),
                token_expires_at => shown_time(account.token_expires_at),
                refresh_token,
            },
            timeline => view(&timeline),
        },
    ))
}

fn no_such_account(operator: &Operator, number: &str, flash: Option<String>) -> Response {
    operator.dashboard.templates.page(
        StatusCode::NOT_FOUND,
        "message.html",
        context! { title => "No such account", csrf => &operator.csrf, message => format!("No account has the number {number:?}."), back => "/admin/accounts", flash },
    )
}

pub async fn refresh_now(
    State(app): State<AppState>,
    operator: Operator,
    Path(number): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    if let Err(refused) = operator.check(&form.csrf) {
        return Ok(refused.into_response());
    }
    let Some(account) = numbered(&app, &number).await? else {
        return Ok(no_such_account(&operator, &number, None));
    };
    let outcome = app
        .engine
        .on_demand(&account.provider, &account.user_id, Demand::Refresh)
        .await?;
    tracing::info!(user_id = %account.user_id, "refresh requested from the dashboard");
    // Each message names the account's network. Its own words stay in the log: they may echo
    // what we sent.
    let network = network_of(&app, &account.provider);
    let flash = match outcome {
        OnDemand::Refreshed(_) => "Refreshed: new tokens are stored.".to_owned(),
        OnDemand::NeedsReconnect(_) => format!(
            "{network} refused the refresh token for good: the member is asked to reconnect."
        ),
        OnDemand::TokenWorks(_) => {
            format!("{network} accepts the access token; nothing was changed.")
        }
        OnDemand::Unknown => "No such account.".to_owned(),
        OnDemand::Busy => {
            "Another process is refreshing this account; try again in a moment.".to_owned()
        }
        OnDemand::NoRefreshToken => {
            "This account has no live refresh token: only its member can renew the token, by reconnecting.".to_owned()
        }
        OnDemand::Discarded => {
            "The account was reconnected or deleted meanwhile; nothing was changed.".to_owned()
        }
        OnDemand::TooEarly { .. } => format!(
            "{network} renews this token only once it is a day old; it works meanwhile, and the account is due again then."
        ),
        OnDemand::Unavailable(_) => format!(
            "{network} did not answer usefully; nothing was changed, and the sweep will try again."
        ),
        OnDemand::Misconfigured(_) => {
            format!("{}.", client_refused(&account.provider, &network))
        }
        OnDemand::Rejected(_) => format!(
            "{network} refused this account with an answer it does not document; nothing was changed."
        ),
    };
    account_page(&app, &operator, &number, Some(flash)).await
}

/// Queues the account's latest reconnect email again, for a member who says it never came.
pub async fn resend_reconnect_email(
    State(app): State<AppState>,
    operator: Operator,
    Path(number): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    if let Err(refused) = operator.check(&form.csrf) {
        return Ok(refused.into_response());
    }
    let Some(account) = numbered(&app, &number).await? else {
        return Ok(no_such_account(&operator, &number, None));
    };
    let resent = app
        .admin
        .resend_reconnect_email(account.id, app.clock.now())
        .await?;
    let flash = match resent {
        Some(notification_id) => {
            tracing::info!(account_id = account.id, notification_id, "reconnect email queued again from the dashboard");
            "The reconnect email is queued again: the mail worker sends it with a fresh link."
        }
        None => "Nothing to resend: the account does not need reconnecting, or its reconnect email has not gone out yet.",
    };
    account_page(&app, &operator, &number, Some(flash.to_owned())).await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirmed: String,
}

/// The first press asks for a confirmation; the confirmed form deletes, as the API does.
pub async fn delete(
    State(app): State<AppState>,
    operator: Operator,
    Path(number): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    if let Err(refused) = operator.check(&form.csrf) {
        return Ok(refused.into_response());
    }
    let Some(account) = numbered(&app, &number).await? else {
        return Ok(no_such_account(&operator, &number, None));
    };
    let templates = &operator.dashboard.templates;
    if form.confirmed != "yes" {
        return Ok(templates.page(
            StatusCode::OK,
            "confirm_delete.html",
            context! { title => "Delete this account?", csrf => &operator.csrf, id => account.id, user_id => account.user_id.to_string() },
        ));
    }
    let deleted = app
        .host_api
        .delete_account(&account.provider, &account.user_id, app.clock.now())
        .await?;
    let message = match &deleted {
        Some(deleted) => {
            tracing::info!(
                account_id = deleted.account_id,
                user_id = %deleted.user_id,
                cancelled_emails = deleted.cancelled_emails,
                "account deleted from the dashboard"
            );
            format!(
                "The account of {} is deleted; {} email(s) waiting to be sent were cancelled.",
                deleted.user_id, deleted.cancelled_emails
            )
        }
        None => format!("No account has the user id {:?}.", account.user_id.as_str()),
    };
    Ok(templates.page(
        StatusCode::OK,
        "message.html",
        context! { title => "Delete", csrf => &operator.csrf, message, back => "/admin/accounts" },
    ))
}
