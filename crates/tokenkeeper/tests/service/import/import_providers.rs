//! Import names the provider: a row's `provider` (CSV column, JSON key; `linkedin` when
//! absent) makes it the user's account at that provider, sealed for that row, decided against
//! that account alone, its token asked of that provider (X: userinfo, having no
//! introspection). A provider that is not configured costs its row only.

use super::import_command::{assert_no_token, file, import, stderr, stdout};
use crate::backend_tests;
use crate::support::webhook_receiver::{Receiver, SECRET};
use crate::support::{spawn, t0, Setup, TestApp, API_KEY};
use chrono::{DateTime, Duration, Utc};
use fake_linkedin::networks::{FakeNetwork, FakeNetworkConfig, NetworkEndpoint, NetworkKind};
use fake_linkedin::{Endpoint, Member};
use reqwest::StatusCode;
use serde_json::{json, Value};
use test_databases::Backend;
use tokenkeeper::domain::{Account, AccountStatus, ProviderName, UserId, WebhookEventType};

backend_tests!(
    a_csv_with_linkedin_and_x_rows_for_one_user_imports_two_accounts,
    a_row_naming_an_unconfigured_provider_is_refused_alone,
    an_x_rows_token_is_checked_through_xs_userinfo,
    the_api_imports_an_x_account_beside_the_linkedin_one,
    a_row_whose_provider_cannot_identify_its_member_fails_alone,
);

const HEADER: &str =
    "user_id,provider,email,access_token,refresh_token,token_expires_at,linked_at,member_id";

/// The service with a fake X configured as `[providers.x]` beside LinkedIn, and a webhook
/// receiver, so that imports record their events.
struct WithX {
    app: TestApp,
    x: FakeNetwork,
    hooks: Receiver,
}

/// `[providers.x]`, pointed at the fake, as configuration keys without the prefix.
fn x_settings(x: &FakeNetwork) -> Vec<(&'static str, String)> {
    let config = FakeNetworkConfig::default();
    vec![
        ("PROVIDERS__X__KIND", "x".to_owned()),
        ("PROVIDERS__X__CLIENT_ID", config.client_id),
        ("PROVIDERS__X__CLIENT_SECRET", config.client_secret),
        ("PROVIDERS__X__AUTHORIZE_URL", x.authorize_url()),
        ("PROVIDERS__X__TOKEN_URL", x.token_url()),
        ("PROVIDERS__X__USERINFO_URL", x.me_url()),
    ]
}

/// The fake X on `start_time`'s clock (stopped, so nothing expires under a test).
async fn with_x(backend: Backend, start_time: DateTime<Utc>) -> Option<WithX> {
    let x = FakeNetwork::start(
        NetworkKind::X,
        FakeNetworkConfig {
            start_time,
            clock_runs: false,
            ..FakeNetworkConfig::default()
        },
    )
    .await
    .unwrap();
    let hooks = Receiver::start().await;
    let mut setup = Setup::default()
        .var("WEBHOOKS__URL", &hooks.url)
        .var("WEBHOOKS__SECRET", SECRET)
        .var("WEBHOOKS__POLL_SECONDS", 3600);
    for (key, value) in x_settings(&x) {
        setup = setup.var(key, value);
    }
    let app = spawn(backend, setup).await?;
    Some(WithX { app, x, hooks })
}

/// Tokens X issued to `member`, with a refresh token.
fn x_tokens(x: &FakeNetwork, member: &str) -> (String, String) {
    let issued = x.controls().issue_tokens(
        Member {
            sub: member.into(),
            name: "Ada".into(),
            given_name: "Ada".into(),
            family_name: "L".into(),
            email: None,
        },
        &["tweet.read", "users.read", "offline.access"],
    );
    (issued.access_token, issued.refresh_token.expect("offline"))
}

/// `tokenkeeper import` of `lines` (a CSV file), configured with X as the service is.
async fn import_csv(world: &WithX, lines: &[String]) -> std::process::Output {
    let path = file(".csv", lines);
    let mut settings = x_settings(&world.x);
    settings.extend([
        ("WEBHOOKS__URL", world.hooks.url.clone()),
        ("WEBHOOKS__SECRET", SECRET.to_owned()),
    ]);
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    import(&world.app, &[path.to_str().unwrap()], &extra).await
}

async fn stored(app: &TestApp, provider: &str, user: &str) -> Option<Account> {
    app.store
        .account_by_user(
            &ProviderName::parse(provider).unwrap(),
            &UserId::parse(user).unwrap(),
        )
        .await
        .unwrap()
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

async fn a_csv_with_linkedin_and_x_rows_for_one_user_imports_two_accounts(backend: Backend) {
    let Some(world) = with_x(backend, Utc::now()).await else {
        return;
    };
    let (x_access, x_refresh) = x_tokens(&world.x, "x-member-ada");
    let linked = Utc::now() - Duration::days(1);
    let lines = [
        HEADER.to_owned(),
        // No provider: LinkedIn's, as every row was before there were others.
        format!(
            "ada,,ada@example.com,AQ-secret-ada,AQ-secret-refresh-ada,{},{},member-ada",
            instant(linked + Duration::days(60)),
            instant(linked)
        ),
        format!(
            "ada,x,ada@example.com,{x_access},{x_refresh},{},{},x-member-ada",
            instant(Utc::now() + Duration::hours(1)),
            instant(linked)
        ),
    ];
    let output = import_csv(&world, &lines).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("2 created"), "{}", stdout(&output));
    assert_no_token(&output);

    // Each is read back through its own row's seal: a token sealed for another row would
    // not open.
    let linkedin = stored(&world.app, "linkedin", "ada").await.unwrap();
    assert_eq!(linkedin.token.expose(), "AQ-secret-ada");
    assert_eq!(linkedin.member_id.as_str(), "member-ada");
    let x = stored(&world.app, "x", "ada").await.unwrap();
    assert_eq!(x.provider.as_str(), "x");
    assert_eq!(x.token.expose(), x_access);
    assert_eq!(x.refresh_token.as_ref().unwrap().expose(), x_refresh);
    assert_eq!(x.member_id.as_str(), "x-member-ada");
    assert_eq!(x.status, AccountStatus::Active);
    assert_eq!(world.app.account_count().await, 2);

    // Decided against each provider's own account: the same file again changes nothing.
    let again = import_csv(&world, &lines).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("2 unchanged"), "{}", stdout(&again));
    assert_eq!(
        stored(&world.app, "x", "ada").await.unwrap().version,
        x.version
    );

    // Each account told its own provider's linked event.
    let events = world.app.store.webhook_events(0, 100).await.unwrap();
    let mut told: Vec<(String, WebhookEventType)> = events
        .iter()
        .map(|e| (e.event.network.clone(), e.event.event_type))
        .collect();
    told.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        told,
        [
            ("linkedin".to_owned(), WebhookEventType::Linked),
            ("x".to_owned(), WebhookEventType::Linked)
        ]
    );
}

async fn a_row_naming_an_unconfigured_provider_is_refused_alone(backend: Backend) {
    let Some(world) = with_x(backend, Utc::now()).await else {
        return;
    };
    let (x_access, x_refresh) = x_tokens(&world.x, "x-member-u-3");
    let linked = Utc::now() - Duration::days(1);
    let expires = instant(Utc::now() + Duration::hours(1));
    let lines = [
        HEADER.to_owned(),
        format!(
            "u-1,linkedin,u1@example.com,AQ-secret-u1,,{expires},{},member-u-1",
            instant(linked)
        ),
        format!(
            "u-2,tiktok,u2@example.com,AQ-secret-u2,,{expires},{},member-u-2",
            instant(linked)
        ),
        format!(
            "u-3,x,u3@example.com,{x_access},{x_refresh},{expires},{},x-member-u-3",
            instant(linked)
        ),
    ];
    let output = import_csv(&world, &lines).await;
    assert!(!output.status.success(), "{}", stderr(&output));
    let errors = stderr(&output);
    assert!(
        errors.contains("line 3: provider: \"tiktok\" is not configured; configured: linkedin, x"),
        "{errors}"
    );
    assert!(errors.contains("1 of 3 rows failed"), "{errors}");
    assert!(stdout(&output).contains("2 created"), "{}", stdout(&output));
    assert_no_token(&output);
    assert!(stored(&world.app, "linkedin", "u-1").await.is_some());
    assert!(stored(&world.app, "x", "u-3").await.is_some());
    assert_eq!(world.app.account_count().await, 2);
}

async fn an_x_rows_token_is_checked_through_xs_userinfo(backend: Backend) {
    let Some(world) = with_x(backend, Utc::now()).await else {
        return;
    };
    let (alive, alive_refresh) = x_tokens(&world.x, "x-member-u-1");
    let (no_refresh, _) = x_tokens(&world.x, "x-member-u-3");
    let linked = instant(Utc::now() - Duration::days(1));
    let lines = [
        HEADER.to_owned(),
        // Neither the member nor the expiry: X's userinfo tells whose it is and that it works.
        format!("u-1,x,u1@example.com,{alive},{alive_refresh},,{linked},"),
        // A token X never issued: refused at userinfo, so dead, and nothing renews it.
        format!("u-2,x,u2@example.com,AQ-secret-unknown,,,{linked},x-member-u-2"),
        // Works, but X cannot say until when, and no refresh token could renew it in time.
        format!("u-3,x,u3@example.com,{no_refresh},,,{linked},x-member-u-3"),
    ];
    let before = Utc::now();
    let output = import_csv(&world, &lines).await;
    let errors = stderr(&output);
    assert!(
        errors.contains(
            "line 4: token_expires_at: not given, and X cannot tell when an access token ends"
        ),
        "{errors}"
    );
    assert!(errors.contains("1 of 3 rows failed"), "{errors}");
    assert_no_token(&output);
    assert!(
        !errors.contains(&alive) && !errors.contains(&no_refresh),
        "{errors}"
    );

    // Asked of X's userinfo, once per row; LinkedIn was never asked.
    assert_eq!(world.x.controls().calls(NetworkEndpoint::Me), 3);
    assert_eq!(world.app.fake.controls().calls(Endpoint::Introspect), 0);
    assert_eq!(world.app.fake.controls().calls(Endpoint::Userinfo), 0);

    let u1 = stored(&world.app, "x", "u-1").await.unwrap();
    assert_eq!(u1.member_id.as_str(), "x-member-u-1");
    assert_eq!(u1.status, AccountStatus::Active);
    // Alive, for how long nobody can say: it counts as ending now, so the first read renews
    // it with its refresh token before answering.
    assert!(u1.token_expires_at >= before && u1.token_expires_at <= Utc::now());
    world.app.at(Utc::now());
    let (status, read) = world.app.api_get("/api/v1/accounts/u-1?provider=x").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_ne!(read["access_token"], alive.as_str());
    assert_eq!(world.x.controls().calls(NetworkEndpoint::Refresh), 1);

    let u2 = stored(&world.app, "x", "u-2").await.unwrap();
    assert_eq!(u2.status, AccountStatus::NeedsReconnect);
    assert!(
        u2.last_error
            .as_deref()
            .unwrap()
            .contains("X refuses the access token"),
        "{:?}",
        u2.last_error
    );
    assert!(stored(&world.app, "x", "u-3").await.is_none());
}

async fn post(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let response = app
        .browser
        .post(app.url("/api/v1/accounts"))
        .bearer_auth(API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn the_api_imports_an_x_account_beside_the_linkedin_one(backend: Backend) {
    let Some(world) = with_x(backend, t0()).await else {
        return;
    };
    let app = &world.app;
    let linked = t0() - Duration::days(1);
    let linkedin_row = json!({
        "user_id": "ada",
        "email": "ada@example.com",
        "member_id": "member-ada",
        "access_token": "AQ-ada",
        "token_expires_at": instant(linked + Duration::days(60)),
        "linked_at": instant(linked),
    });
    let (status, body) = post(app, &linkedin_row).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["provider"], "linkedin");

    // Without the member: X's userinfo names it.
    let (x_access, x_refresh) = x_tokens(&world.x, "x-member-ada");
    let x_row = json!({
        "provider": "x",
        "user_id": "ada",
        "email": "ada@example.com",
        "access_token": x_access,
        "refresh_token": x_refresh,
        "token_expires_at": instant(t0() + Duration::hours(2)),
        "linked_at": instant(linked),
    });
    let (status, body) = post(app, &x_row).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["provider"], "x");
    assert_eq!(body["access_token"], x_access);
    assert_eq!(body["member_id"], "x-member-ada");
    assert_eq!(world.x.controls().calls(NetworkEndpoint::Me), 1);

    // Both accounts stand, each under its provider.
    let (status, read) = app.api_get("/api/v1/accounts/ada?provider=x").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["access_token"], x_access);
    let (_, read) = app.api_get("/api/v1/accounts/ada").await;
    assert_eq!(read["access_token"], "AQ-ada");

    // Decided against the X account: the same row again is unchanged.
    let (status, body) = post(app, &x_row).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"], "x");

    // The served document takes this deployment's providers in the body.
    let (_, document) = app.api_get("/api/v1/openapi.json").await;
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["ImportRow"]["properties"]["provider"]["anyOf"][0]["$ref"],
        "#/components/schemas/ProviderName"
    );
    assert_eq!(schemas["ProviderName"]["enum"], json!(["linkedin", "x"]));

    let mut unknown = x_row.clone();
    unknown["provider"] = json!("tiktok");
    unknown["user_id"] = json!("grace");
    let (status, body) = post(app, &unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["message"],
        "provider: \"tiktok\" is not configured; configured: linkedin, x"
    );
    assert!(stored(app, "tiktok", "grace").await.is_none());
    assert_eq!(app.account_count().await, 2);
}

/// `[providers.acme]`: a server described by its endpoints, with no userinfo and no
/// introspection endpoint, so it can tell nothing about a token. Never called here.
fn acme_settings() -> [(&'static str, &'static str); 6] {
    [
        ("PROVIDERS__ACME__KIND", "oauth2"),
        ("PROVIDERS__ACME__CLIENT_ID", "acme-app"),
        ("PROVIDERS__ACME__CLIENT_SECRET", "acme-secret"),
        ("PROVIDERS__ACME__DISPLAY_NAME", "Acme Social"),
        (
            "PROVIDERS__ACME__AUTHORIZE_URL",
            "https://acme.example/authorize",
        ),
        ("PROVIDERS__ACME__TOKEN_URL", "https://acme.example/token"),
    ]
}

async fn a_row_whose_provider_cannot_identify_its_member_fails_alone(backend: Backend) {
    let mut setup = Setup::default();
    for (key, value) in acme_settings() {
        setup = setup.var(key, value);
    }
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    let linked = instant(Utc::now() - Duration::days(1));
    let expires = instant(Utc::now() + Duration::hours(1));
    let lines = [
        HEADER.to_owned(),
        // Whose token? Acme has no userinfo to ask.
        format!("u-1,acme,u1@example.com,AQ-secret-u1,,{expires},{linked},"),
        format!("u-2,linkedin,u2@example.com,AQ-secret-u2,,{expires},{linked},member-u-2"),
        // Does it still work? Acme can neither introspect nor be asked at userinfo.
        format!("u-3,acme,u3@example.com,AQ-secret-u3,AQ-secret-r3,,{linked},acme-u-3"),
        // Everything given: nothing to ask.
        format!("u-4,acme,u4@example.com,AQ-secret-u4,,{expires},{linked},acme-u-4"),
    ];
    let path = file(".csv", &lines);
    let output = import(&app, &[path.to_str().unwrap()], &acme_settings()).await;
    let errors = stderr(&output);
    assert!(!output.status.success(), "{errors}");
    assert!(!errors.contains("the import stopped"), "{errors}");
    assert!(
        errors.contains(
            "line 2: member_id: not given, and Acme Social does not offer a way to identify the user ([providers.acme] sets no userinfo_url), so it cannot tell whose the access token is; give member_id in the row"
        ),
        "{errors}"
    );
    assert!(
        errors.contains(
            "line 4: token_expires_at: not given, and Acme Social does not offer a way to identify the user ([providers.acme] sets no userinfo_url), so it cannot tell whether it still takes the access token; give token_expires_at in the row"
        ),
        "{errors}"
    );
    assert!(errors.contains("2 of 4 rows failed"), "{errors}");
    assert!(stdout(&output).contains("2 created"), "{}", stdout(&output));
    assert_no_token(&output);
    assert!(stored(&app, "linkedin", "u-2").await.is_some());
    assert!(stored(&app, "acme", "u-4").await.is_some());
    assert!(stored(&app, "acme", "u-1").await.is_none());
    assert!(stored(&app, "acme", "u-3").await.is_none());
    // The LinkedIn row was not asked either: it gave everything.
    assert_eq!(app.fake.controls().calls(Endpoint::Userinfo), 0);

    // The API refuses such a row as the request's problem, not as the provider failing.
    let (status, body) = post(
        &app,
        &json!({
            "provider": "acme",
            "user_id": "u-5",
            "email": "u5@example.com",
            "access_token": "AQ-secret-u5",
            "token_expires_at": expires,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["message"],
        "member_id: not given, and Acme Social does not offer a way to identify the user ([providers.acme] sets no userinfo_url), so it cannot tell whose the access token is; give member_id in the row"
    );
    assert!(stored(&app, "acme", "u-5").await.is_none());
}
