//! The fake answers as LinkedIn does, over real HTTP.

use chrono::{Duration, TimeZone, Utc};
use fake_linkedin::{Consent, Endpoint, FakeConfig, FakeLinkedIn, Fault, InvalidRefreshStyle};
use reqwest::redirect::Policy;
use serde_json::Value;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

async fn start() -> FakeLinkedIn {
    FakeLinkedIn::start(FakeConfig {
        start_time: t0(),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Consents and returns the code LinkedIn sent back.
async fn code(fake: &FakeLinkedIn) -> String {
    let response = client()
        .get(fake.authorize_url())
        .query(&[
            ("response_type", "code"),
            ("client_id", "fake-client-id"),
            ("redirect_uri", "http://app.test/cb"),
            ("scope", "openid profile email"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "s1");
    pairs["code"].clone()
}

async fn token(fake: &FakeLinkedIn, form: &[(&str, &str)]) -> (u16, Value) {
    let mut full = form.to_vec();
    full.push(("client_id", "fake-client-id"));
    full.push(("client_secret", "fake-client-secret"));
    let response = client()
        .post(fake.token_url())
        .form(&full)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn exchange(fake: &FakeLinkedIn) -> Value {
    let code = code(fake).await;
    let (status, body) = token(
        fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://app.test/cb"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn code_exchange_has_no_token_type_and_the_code_is_single_use() {
    let fake = start().await;
    let code = code(&fake).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://app.test/cb"),
    ];
    let (status, body) = token(&fake, &form).await;
    assert_eq!(status, 200);
    assert!(body.get("token_type").is_none());
    assert_eq!(body["expires_in"], 5_183_999);
    assert_eq!(body["refresh_token_expires_in"], 31_536_059);
    assert_eq!(body["scope"], "openid,profile,email");
    let (status, body) = token(&fake, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn http_basic_client_authentication_is_rejected() {
    let fake = start().await;
    let response = client()
        .post(fake.token_url())
        .basic_auth("fake-client-id", Some("fake-client-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "A required parameter \"client_id\" is missing"
    );
    let (status, body) = {
        let r = client()
            .post(fake.token_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", "fake-client-id"),
                ("client_secret", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn non_partner_apps_get_no_refresh_token() {
    let fake = start().await;
    fake.controls().set_partner(false);
    let body = exchange(&fake).await;
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn refreshing_never_extends_the_refresh_token() {
    let fake = start().await;
    let first = exchange(&fake).await;
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    fake.controls().set_now(t0() + Duration::days(340));
    let (status, body) = token(
        &fake,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["refresh_token"], refresh.as_str());
    let left = body["refresh_token_expires_in"].as_i64().unwrap();
    assert!((25 * 86_400..=25 * 86_400 + 60).contains(&left), "{left}");
    // The access token is capped at the refresh token's end.
    assert_eq!(body["expires_in"].as_i64().unwrap(), left);
    assert_eq!(fake.controls().refresh_grants(), 1);
    fake.controls().set_now(t0() + Duration::days(366));
    let (status, body) = token(
        &fake,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    fake.controls()
        .set_invalid_refresh_style(InvalidRefreshStyle::InvalidRequest);
    let (_, body) = token(
        &fake,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn revoking_a_member_kills_refresh_and_userinfo() {
    let fake = start().await;
    let body = exchange(&fake).await;
    let access = body["access_token"].as_str().unwrap();
    let info: Value = client()
        .get(fake.userinfo_url())
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sub = info["sub"].as_str().unwrap().to_owned();
    assert_eq!(info["email_verified"], true);
    fake.controls().revoke_member(&sub);
    let response = client()
        .get(fake.userinfo_url())
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["serviceErrorCode"],
        65601
    );
    let (status, _) = token(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    let introspected: Value = client()
        .post(fake.introspect_url())
        .form(&[
            ("client_id", "fake-client-id"),
            ("client_secret", "fake-client-secret"),
            ("token", access),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["status"], "revoked");
    assert_eq!(introspected["active"], false);
}

#[tokio::test]
async fn faults_are_injected_in_order_and_counted() {
    let fake = start().await;
    let c = fake.controls();
    c.inject_fault(Endpoint::Token, Fault::Status(503), Some(1));
    c.inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after: Some(7),
        },
        Some(1),
    );
    c.inject_fault(
        Endpoint::Token,
        Fault::TooManyRequests { retry_after: None },
        Some(1),
    );
    c.inject_fault(
        Endpoint::Token,
        Fault::Latency(std::time::Duration::from_millis(300)),
        Some(1),
    );
    let call = || {
        client()
            .post(fake.token_url())
            .form(&[("grant_type", "x")])
            .send()
    };
    assert_eq!(call().await.unwrap().status(), 503);
    let limited = call().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    let limited = call().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_none());
    let started = std::time::Instant::now();
    assert_eq!(call().await.unwrap().status(), 400);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(c.calls(Endpoint::Token), 4);
}

#[tokio::test]
async fn cancelled_consent_returns_the_error_with_the_state() {
    let fake = start().await;
    fake.controls().set_consent(Consent::CancelAuthorize);
    let response = client()
        .get(fake.authorize_url())
        .query(&[
            ("response_type", "code"),
            ("client_id", "fake-client-id"),
            ("redirect_uri", "http://app.test/cb"),
            ("scope", "openid"),
            ("state", "s9"),
        ])
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=user_cancelled_authorize") && location.contains("state=s9"));
    // A bad client_id never goes back to the app: LinkedIn shows its own page.
    let response = client()
        .get(fake.authorize_url())
        .query(&[
            ("response_type", "code"),
            ("client_id", "other"),
            ("redirect_uri", "http://app.test/cb"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn control_endpoints_work_over_http() {
    let fake = start().await;
    let http = client();
    let clock: Value = http
        .post(format!("{}/_fake/clock", fake.base_url()))
        .json(&serde_json::json!({"now": "2027-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(clock["now"]
        .as_str()
        .unwrap()
        .starts_with("2027-01-01T00:00:0"));
    http.post(format!("{}/_fake/faults", fake.base_url()))
        .json(&serde_json::json!({"endpoint": "userinfo", "fault": {"status": 502}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        http.get(fake.userinfo_url()).send().await.unwrap().status(),
        502
    );
    let stats: Value = http
        .get(format!("{}/_fake/stats", fake.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["calls"]["userinfo"], 1);
}

#[tokio::test]
async fn raw_answers_and_hang_ups_over_http_controls() {
    let fake = start().await;
    let http = client();
    let control = |fault: Value| {
        http.post(format!("{}/_fake/faults", fake.base_url()))
            .json(&serde_json::json!({"endpoint": "token", "fault": fault, "times": 1}))
            .send()
    };
    let answer = control(serde_json::json!({"respond": {
        "status": 429,
        "headers": {"Retry-After": "soon"},
        "body": "{\"odd\":true}"
    }}))
    .await
    .unwrap();
    assert_eq!(answer.status(), 204);
    assert_eq!(
        control(serde_json::json!({"disconnect": true}))
            .await
            .unwrap()
            .status(),
        204
    );
    let call = || {
        http.post(fake.token_url())
            .form(&[("grant_type", "x")])
            .send()
    };
    let raw = call().await.unwrap();
    assert_eq!(raw.status(), 429);
    assert_eq!(raw.headers()["retry-after"], "soon");
    assert_eq!(raw.text().await.unwrap(), "{\"odd\":true}");
    // The connection is closed without any answer: no status reaches the client.
    let hung_up = call().await.unwrap_err();
    assert!(hung_up.status().is_none(), "{hung_up:?}");
    // The fake itself is unharmed.
    assert_eq!(call().await.unwrap().status(), 400);
    assert_eq!(fake.controls().calls(Endpoint::Token), 3);
}

#[tokio::test]
async fn seeded_tokens_are_introspected_like_issued_ones() {
    let fake = start().await;
    let c = fake.controls();
    let now = c.now();
    let seed = |revoked| fake_linkedin::SeededToken {
        member: if revoked { "m-gone" } else { "m-here" }.into(),
        scope: vec!["openid".into(), "w_member_social".into()],
        authorized_at: now - Duration::days(10),
        expires_at: now + Duration::days(50),
        refresh: None,
        revoked,
    };
    c.seed_access_token("AQ-seeded-live", seed(false));
    c.seed_access_token("AQ-seeded-revoked", seed(true));
    let introspect = |token: &'static str| {
        let url = fake.introspect_url();
        async move {
            client()
                .post(url)
                .form(&[
                    ("client_id", "fake-client-id"),
                    ("client_secret", "fake-client-secret"),
                    ("token", token),
                ])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let live = introspect("AQ-seeded-live").await;
    assert_eq!(live["status"], "active");
    assert_eq!(live["active"], true);
    assert_eq!(live["expires_at"], (now + Duration::days(50)).timestamp());
    assert_eq!(
        live["authorized_at"],
        (now - Duration::days(10)).timestamp()
    );
    assert_eq!(introspect("AQ-seeded-revoked").await["status"], "revoked");
    assert_eq!(introspect("AQ-never-seen").await["active"], false);
}
