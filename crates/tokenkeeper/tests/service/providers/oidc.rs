//! The service against a real OpenID provider (panva's oidc-provider): a member connects
//! through the provider's own sign-in and consent pages, with either way of authenticating the
//! client; each refresh rotates the refresh token; a grant ended at the provider asks the
//! member to reconnect; a read renews a token near its end, once however many readers ask.
//! Access tokens live 30 seconds, as short as real issuers make them.

use crate::service_tests;
use crate::support::oidc_provider::{sign_in_and_consent_in, OidcProvider};
use crate::support::{location, spawn, Setup, TestApp, API_KEY};
use chrono::Duration as Span;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use test_databases::Backend;
use tokenkeeper::domain::{Account, AccountStatus, ProviderName, UserId};
use url::Url;

service_tests!(
    a_member_connects_and_refreshes_with_client_secret_basic,
    a_member_connects_and_refreshes_with_client_secret_post,
    each_refresh_rotates_the_refresh_token_and_the_old_one_is_refused,
    a_grant_revoked_at_the_provider_asks_the_member_to_reconnect,
    a_read_renews_a_token_with_less_than_min_validity_left,
    twenty_reads_at_the_due_moment_share_one_refresh_and_keep_the_grant,
);

/// The service's callback for `acme`, on whatever port it binds.
const CALLBACK: &str = "http://127.0.0.1/oauth/acme/callback";
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(30);

/// The provider, and the service with `acme` configured as its client authenticating with
/// `method`; `None` when either cannot run here.
async fn acme(method: &str) -> Option<(OidcProvider, TestApp)> {
    let provider = OidcProvider::start_for_any_port(CALLBACK, ACCESS_TOKEN_TTL).await?;
    let client = provider.client(method).clone();
    let mut setup = Setup::default()
        .var("PROVIDERS__ACME__KIND", "oidc")
        .var("PROVIDERS__ACME__ISSUER", &provider.issuer)
        .var("PROVIDERS__ACME__CLIENT_ID", &client.client_id)
        .var("PROVIDERS__ACME__CLIENT_SECRET", &client.client_secret)
        .var("PROVIDERS__ACME__DISPLAY_NAME", "Acme");
    // Basic is left to the discovery document (which lists both, so RFC 6749's default);
    // post must be asked for.
    if method == "client_secret_post" {
        setup = setup.var("PROVIDERS__ACME__CLIENT_AUTH", "post");
    }
    let app = spawn(Backend::Sqlite, setup).await?;
    Some((provider, app))
}

fn acme_name() -> ProviderName {
    ProviderName::parse("acme").unwrap()
}

/// Connects `user` as the provider's `login` through the real flow: a connect link from the
/// API, the service's redirect to the provider, its sign-in and consent pages, and the
/// redirect back to the service's callback, all in the test's browser (whose cookie binds the
/// flow to it). The stored account.
async fn connect(app: &TestApp, provider: &OidcProvider, user: &str, login: &str) -> Account {
    let answer = app
        .browser
        .post(app.url("/api/v1/connect-links"))
        .bearer_auth(API_KEY)
        .json(&json!({"user_id": user, "email": format!("{user}@example.com"), "provider": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    let link = Url::parse(body["url"].as_str().unwrap()).unwrap();
    assert_eq!(link.path(), "/connect/acme", "{link}");

    let to_provider = app.browser.get(link).send().await.unwrap();
    assert!(
        to_provider.status().is_redirection(),
        "/connect/acme answered {}",
        to_provider.status()
    );
    let authorize = location(&to_provider);
    assert_eq!(authorize.origin(), provider.issuer.origin(), "{authorize}");

    let callback = app.url("/oauth/acme/callback");
    let back = sign_in_and_consent_in(&app.browser, &authorize, callback.as_str(), login).await;
    let page = app.browser.get(back).send().await.unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Acme is connected"), "{html}");
    account(app, user).await
}

async fn account(app: &TestApp, user: &str) -> Account {
    app.store
        .account_by_user(&acme_name(), &UserId::parse(user).unwrap())
        .await
        .unwrap()
        .expect("the account is stored")
}

/// `POST /api/v1/accounts/{user}/refresh?provider=acme`: the status and the body.
async fn refresh(app: &TestApp, user: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/accounts/{user}/refresh?provider=acme");
    app.api_request(reqwest::Method::POST, &path).await
}

fn refresh_token_of(account: &Account) -> String {
    let token = account.refresh_token.as_ref().expect("a refresh token");
    token.expose().to_owned()
}

/// Connect, then refresh through the service, as the client authenticating with `method`.
async fn connects_and_refreshes(method: &str) {
    let Some((provider, app)) = acme(method).await else {
        return;
    };
    let linked = connect(&app, &provider, "ada", "member-1").await;
    assert_eq!(linked.provider, acme_name());
    assert_eq!(
        linked.member_id.as_str(),
        "member-1",
        "the member is the sub"
    );
    assert_eq!(linked.status, AccountStatus::Active);
    assert!(linked.refresh_token.is_some(), "offline_access gave none");
    assert_eq!(provider.grants_of("authorization_code").await, 1);

    let (status, body) = refresh(&app, "ada").await;
    assert_eq!(status, StatusCode::OK, "{method}: {body}");
    assert_eq!(body["result"], "refreshed", "{method}: {body}");
    let refreshed = account(&app, "ada").await;
    assert_ne!(refreshed.token.expose(), linked.token.expose());
    assert_eq!(provider.grants_of("refresh_token").await, 1);

    // The provider takes either secret method from any client; what it saw tells which one
    // the service used.
    let grants = provider.grants().await;
    let client_id = &provider.client(method).client_id;
    for grant in &grants {
        assert_eq!(&grant.client_id, client_id, "{grants:?}");
        assert_eq!(grant.authentication, method, "{grants:?}");
    }

    // The API serves what the provider gave. (Asking for no margin: a 30-second token is
    // always within the default minute, and a read would renew it first.)
    let (status, body) = read(&app, "ada", "&min_validity=0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"], "acme");
    assert_eq!(body["member_id"], "member-1");
    assert_eq!(body["access_token"], refreshed.token.expose());
}

async fn a_member_connects_and_refreshes_with_client_secret_basic() {
    connects_and_refreshes("client_secret_basic").await;
}

async fn a_member_connects_and_refreshes_with_client_secret_post() {
    connects_and_refreshes("client_secret_post").await;
}

async fn each_refresh_rotates_the_refresh_token_and_the_old_one_is_refused() {
    let Some((provider, app)) = acme("client_secret_basic").await else {
        return;
    };
    let first = refresh_token_of(&connect(&app, &provider, "ada", "member-1").await);
    let mut held = vec![first];
    for round in 1..=2 {
        let (status, body) = refresh(&app, "ada").await;
        assert_eq!(status, StatusCode::OK, "refresh {round}: {body}");
        assert_eq!(body["result"], "refreshed", "refresh {round}: {body}");
        let stored = refresh_token_of(&account(&app, "ada").await);
        assert!(
            !held.contains(&stored),
            "refresh {round} kept an old refresh token"
        );
        held.push(stored);
    }
    assert_eq!(provider.grants_of("refresh_token").await, 2);

    // The first one, consumed by the first refresh, is refused. (Its replay makes the provider
    // end the whole grant, so it is tried last.)
    let client = provider.client("client_secret_basic");
    let (status, body) = provider.refresh_directly(client, &held[0]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

async fn a_grant_revoked_at_the_provider_asks_the_member_to_reconnect() {
    let Some((provider, app)) = acme("client_secret_post").await else {
        return;
    };
    let linked = connect(&app, &provider, "ada", "member-1").await;
    let client = provider.client("client_secret_post");
    provider
        .revoke_refresh_token(client, &refresh_token_of(&linked))
        .await;

    let (status, body) = refresh(&app, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "needs_reconnect", "{body}");
    let after = account(&app, "ada").await;
    assert_eq!(after.status, AccountStatus::NeedsReconnect);
    let kinds: Vec<String> = app
        .store
        .notifications_for(after.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind.to_string())
        .collect();
    assert!(
        kinds.iter().any(|k| k == "reconnect_required"),
        "no reconnect email queued: {kinds:?}"
    );
}

/// `GET /api/v1/accounts/{user}?provider=acme{extra}`: the status and the body.
async fn read(app: &TestApp, user: &str, extra: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/accounts/{user}?provider=acme{extra}");
    app.api_get(&path).await
}

async fn a_read_renews_a_token_with_less_than_min_validity_left() {
    let Some((provider, app)) = acme("client_secret_basic").await else {
        return;
    };
    let linked = connect(&app, &provider, "ada", "member-1").await;
    // Thirty seconds is all the provider gives, less than the minute asked: the read renews
    // once under half of it is left (renewing on every read would cost a call per call).
    let (status, body) = read(&app, "ada", "&min_validity=60").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["access_token"],
        linked.token.expose(),
        "30 s left: fresh"
    );
    assert_eq!(provider.grants_of("refresh_token").await, 0);
    app.clock.set(linked.token_expires_at - Span::seconds(10));
    let (status, body) = read(&app, "ada", "&min_validity=60").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let served = body["access_token"].as_str().expect("a token");
    assert_ne!(served, linked.token.expose(), "a renewed token");
    assert_eq!(served, account(&app, "ada").await.token.expose());
    assert_eq!(provider.grants_of("refresh_token").await, 1);
}

async fn twenty_reads_at_the_due_moment_share_one_refresh_and_keep_the_grant() {
    let Some((provider, app)) = acme("client_secret_basic").await else {
        return;
    };
    let linked = connect(&app, &provider, "ada", "member-1").await;
    // Ten seconds left of thirty, twenty asked: due. The renewed token, with thirty left, is
    // not, so a reader that comes after the refresh is served it without another: the one
    // refresh counted is the readers' sharing, whatever order they arrive in.
    app.clock.set(linked.token_expires_at - Span::seconds(10));
    let readers: Vec<_> = (0..20)
        .map(|_| {
            let client = app.browser.clone();
            let url = app.url("/api/v1/accounts/ada?provider=acme&min_validity=20");
            tokio::spawn(async move {
                let answer = client.get(url).bearer_auth(API_KEY).send().await.unwrap();
                let status = answer.status();
                (status, answer.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for reader in readers {
        answers.push(reader.await.unwrap());
    }
    let renewed = account(&app, "ada").await;
    assert_ne!(renewed.token.expose(), linked.token.expose());
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(
            body["access_token"],
            renewed.token.expose(),
            "every reader gets the one new token"
        );
    }
    assert_eq!(
        provider.grants_of("refresh_token").await,
        1,
        "one refresh for twenty reads"
    );
    // The grant is alive: oidc-provider ends it when a refresh token comes back a second
    // time, so two readers refreshing with the one stored token would make this refresh fail.
    let (status, body) = refresh(&app, "ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"], "refreshed", "{body}");
    assert_eq!(provider.grants_of("refresh_token").await, 2);
}
