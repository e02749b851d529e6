//! The fakes of X, Google, TikTok, Instagram, Threads and Facebook answer as those networks
//! do, over real HTTP: one test per quirk.

use base64::Engine;
use chrono::{Duration, TimeZone, Utc};
use fake_linkedin::{
    FakeNetwork, FakeNetworkConfig, Fault, Gate, Member, NetworkEndpoint, NetworkKind,
};
use reqwest::redirect::Policy;
use serde_json::Value;
use sha2::Digest;
use std::collections::HashMap;

const ID: &str = "fake-client-id";
const SECRET: &str = "fake-client-secret";
const CALLBACK: &str = "http://app.test/cb";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-long";

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// A fake on a stopped clock, and a client that does not follow redirects.
struct Net {
    fake: FakeNetwork,
    http: reqwest::Client,
}

impl Net {
    async fn start(kind: NetworkKind) -> Self {
        Self::start_with(kind, FakeNetworkConfig::default()).await
    }

    async fn start_with(kind: NetworkKind, config: FakeNetworkConfig) -> Self {
        let config = FakeNetworkConfig {
            start_time: t0(),
            clock_runs: false,
            ..config
        };
        Self {
            fake: FakeNetwork::start(kind, config).await.unwrap(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn kind(&self) -> NetworkKind {
        self.fake.kind()
    }

    /// The authorize request each network expects, with these scopes and extra parameters.
    fn authorize_query(&self, scope: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let client_param = match self.kind() {
            NetworkKind::TikTok => "client_key",
            _ => "client_id",
        };
        let mut q = vec![
            ("response_type", "code"),
            (client_param, ID),
            ("redirect_uri", CALLBACK),
            ("scope", scope),
            ("state", "s1"),
        ];
        if self.kind() == NetworkKind::X {
            q.push(("code_challenge_method", "S256"));
        }
        q.extend_from_slice(extra);
        let mut q: Vec<(String, String)> = q
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if self.kind() == NetworkKind::X && !extra.iter().any(|(k, _)| *k == "code_challenge") {
            q.push(("code_challenge".into(), challenge(VERIFIER)));
        }
        q
    }

    async fn authorize(&self, query: &[(String, String)]) -> reqwest::Response {
        let url = self.fake.authorize_url();
        self.http.get(url).query(query).send().await.unwrap()
    }

    /// Consents and returns the code sent back to the app.
    async fn code(&self, scope: &str, extra: &[(&str, &str)]) -> String {
        let response = self.authorize(&self.authorize_query(scope, extra)).await;
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let pairs: HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], "s1");
        pairs["code"].clone()
    }

    async fn post(&self, url: String, form: &[(&str, &str)], basic: bool) -> (u16, Value) {
        let mut request = self.http.post(url).form(form);
        if basic {
            request = request.basic_auth(ID, Some(SECRET));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The code exchange at the token URL, with the network's client credentials in `creds`
    /// (or Basic): the body of its 200.
    async fn redeem(&self, code: &str, creds: &[(&str, &str)], basic: bool) -> Value {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ];
        form.extend_from_slice(creds);
        let (status, body) = self.post(self.fake.token_url(), &form, basic).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The `refresh_token` grant, with the client's credentials as Basic.
    async fn refresh_grant(&self, refresh_token: &str) -> (u16, Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.post(self.fake.token_url(), &form, true).await
    }

    async fn get(&self, url: String, query: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.get(url).query(query).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn me(&self, access_token: &str) -> (u16, Value) {
        let response = (self.http.get(self.fake.me_url()))
            .bearer_auth(access_token)
            .query(&[("fields", "open_id,display_name")])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    fn advance(&self, d: Duration) {
        self.fake.controls().advance(d);
    }
}

// ----- X -----

/// X's code exchange with Basic auth, as a confidential client sends it.
async fn x_exchange(net: &Net, scope: &str) -> Value {
    let code = net.code(scope, &[]).await;
    net.redeem(&code, &[("code_verifier", VERIFIER)], true)
        .await
}

async fn x_refresh(net: &Net, refresh_token: &str) -> (u16, Value) {
    net.refresh_grant(refresh_token).await
}

#[tokio::test]
async fn x_confidential_clients_must_use_http_basic() {
    let net = Net::start(NetworkKind::X).await;
    let code = net.code("tweet.read users.read", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
        ("client_id", ID),
        ("client_secret", SECRET),
    ];
    let (status, body) = net.post(net.fake.token_url(), &form, false).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        body["error_description"],
        "Missing valid authorization header"
    );
    let (status, body) = net.post(net.fake.token_url(), &form[..4], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7200);
}

#[tokio::test]
async fn x_public_clients_name_themselves_in_the_body() {
    let net = Net::start_with(
        NetworkKind::X,
        FakeNetworkConfig {
            confidential_client: false,
            ..Default::default()
        },
    )
    .await;
    let code = net.code("tweet.read", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
        ("client_id", ID),
    ];
    let (status, body) = net.post(net.fake.token_url(), &form, false).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn x_requires_pkce_and_answers_a_bad_code_with_invalid_request() {
    let net = Net::start(NetworkKind::X).await;
    let mut query = net.authorize_query("tweet.read", &[]);
    query.retain(|(k, _)| k != "code_challenge");
    let response = net.authorize(&query).await;
    assert_eq!(response.status(), 400, "no challenge: X's own error page");
    assert!(response.headers().get("location").is_none());

    let code = net.code("tweet.read", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        (
            "code_verifier",
            "not-the-verifier-of-the-challenge-sent-with-it",
        ),
    ];
    let (status, body) = net.post(net.fake.token_url(), &form, true).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"], "invalid_request",
        "not invalid_grant: {body}"
    );
    assert_eq!(
        body["error_description"],
        "Value passed for the authorization code was invalid."
    );
}

#[tokio::test]
async fn x_gives_a_refresh_token_only_with_offline_access() {
    let net = Net::start(NetworkKind::X).await;
    let online = x_exchange(&net, "tweet.read users.read").await;
    assert!(online.get("refresh_token").is_none(), "{online}");
    let offline = x_exchange(&net, "tweet.read users.read offline.access").await;
    assert!(offline["refresh_token"].is_string(), "{offline}");
    assert_eq!(offline["scope"], "tweet.read users.read offline.access");
}

#[tokio::test]
async fn x_refresh_tokens_are_single_use_and_a_reuse_kills_the_whole_chain() {
    let net = Net::start(NetworkKind::X).await;
    let first = x_exchange(&net, "tweet.read users.read offline.access").await;
    let old = first["refresh_token"].as_str().unwrap();
    let (status, second) = x_refresh(&net, old).await;
    assert_eq!(status, 200, "{second}");
    let new = second["refresh_token"].as_str().unwrap();
    assert_ne!(new, old, "every refresh rotates the refresh token");
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(net.me(access).await.0, 200);
    let controls = net.fake.controls();
    assert_eq!(controls.refresh_token_reuses(), 0);

    let (status, body) = x_refresh(&net, old).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(controls.refresh_token_reuses(), 1);
    // The reuse killed the chain: the newest tokens are dead too.
    assert!(!controls.accepts(access));
    assert!(!controls.refresh_token_usable(new));
    let (status, body) = net.me(access).await;
    assert_eq!(
        (status, body["title"].as_str()),
        (401, Some("Unauthorized"))
    );
    let (status, _) = x_refresh(&net, new).await;
    assert_eq!(status, 400);
    assert_eq!(controls.refresh_grants(), 1);
}

#[tokio::test]
async fn x_revoking_a_token_ends_its_grant() {
    let net = Net::start(NetworkKind::X).await;
    let body = x_exchange(&net, "tweet.read offline.access").await;
    let (access, refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    let (status, me) = net.me(access).await;
    assert_eq!(status, 200);
    assert!(me["data"]["id"].is_string());
    let form = [("token", refresh), ("token_type_hint", "refresh_token")];
    let (status, body) = net
        .post(
            format!("{}/2/oauth2/revoke", net.fake.base_url()),
            &form,
            true,
        )
        .await;
    assert_eq!((status, body["revoked"].as_bool()), (200, Some(true)));
    assert!(!net.fake.controls().accepts(access));
    assert_eq!(x_refresh(&net, refresh).await.0, 400);
}

// ----- Google -----

async fn google_exchange(net: &Net, extra: &[(&str, &str)]) -> Value {
    let scope = "openid email https://www.googleapis.com/auth/youtube";
    let code = net.code(scope, extra).await;
    net.redeem(
        &code,
        &[("client_id", ID), ("client_secret", SECRET)],
        false,
    )
    .await
}

/// Google takes the client's credentials as Basic as well as in the body.
async fn google_refresh(net: &Net, refresh_token: &str) -> (u16, Value) {
    net.refresh_grant(refresh_token).await
}

fn member(sub: &str) -> Member {
    Member {
        sub: sub.into(),
        name: "Ada Lovelace".into(),
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        email: Some("ada@example.com".into()),
    }
}

#[tokio::test]
async fn google_gives_a_refresh_token_only_offline_and_on_reconsent_only_with_prompt_consent() {
    let net = Net::start(NetworkKind::Google).await;
    net.fake
        .controls()
        .login_as(Some(member("112233445566778899001")));
    let online = google_exchange(&net, &[]).await;
    assert!(online.get("refresh_token").is_none(), "{online}");
    assert!(online["id_token"].is_string());
    let first = google_exchange(&net, &[("access_type", "offline")]).await;
    assert!(first["refresh_token"].is_string(), "{first}");
    let again = google_exchange(&net, &[("access_type", "offline")]).await;
    assert!(
        again.get("refresh_token").is_none(),
        "no consent screen, no refresh token"
    );
    let forced = google_exchange(&net, &[("access_type", "offline"), ("prompt", "consent")]).await;
    assert!(forced["refresh_token"].is_string(), "{forced}");
}

#[tokio::test]
async fn google_never_returns_a_refresh_token_on_refresh() {
    let net = Net::start(NetworkKind::Google).await;
    let body = google_exchange(&net, &[("access_type", "offline")]).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = google_refresh(&net, refresh).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert_eq!(body["expires_in"], 3599);
        let (status, me) = net.me(body["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert!(me["sub"].is_string());
    }
    assert_eq!(
        net.fake.controls().refresh_token_reuses(),
        0,
        "not single use"
    );
    assert_eq!(net.fake.controls().refresh_grants(), 2);
}

#[tokio::test]
async fn google_refresh_tokens_die_after_six_months_unused() {
    let net = Net::start(NetworkKind::Google).await;
    let body = google_exchange(&net, &[("access_type", "offline")]).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    net.advance(Duration::days(182));
    assert_eq!(
        google_refresh(&net, refresh).await.0,
        200,
        "a use restarts the six months"
    );
    net.advance(Duration::days(182));
    assert_eq!(google_refresh(&net, refresh).await.0, 200);
    net.advance(Duration::days(183));
    let (status, body) = google_refresh(&net, refresh).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
}

#[tokio::test]
async fn google_testing_mode_authorizations_die_seven_days_after_consent() {
    let net = Net::start_with(
        NetworkKind::Google,
        FakeNetworkConfig {
            google_testing_mode: true,
            ..Default::default()
        },
    )
    .await;
    let body = google_exchange(&net, &[("access_type", "offline")]).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    net.advance(Duration::days(6));
    assert_eq!(google_refresh(&net, refresh).await.0, 200);
    net.advance(Duration::days(1));
    let (status, body) = google_refresh(&net, refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn google_refresh_tokens_over_the_limit_kill_the_oldest() {
    let net = Net::start_with(
        NetworkKind::Google,
        FakeNetworkConfig {
            google_refresh_token_limit: 2,
            ..Default::default()
        },
    )
    .await;
    net.fake.controls().login_as(Some(member("1")));
    let forced = [("access_type", "offline"), ("prompt", "consent")];
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let body = google_exchange(&net, &forced).await;
        tokens.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(google_refresh(&net, &tokens[0]).await.0, 400);
    assert_eq!(google_refresh(&net, &tokens[1]).await.0, 200);
    assert_eq!(google_refresh(&net, &tokens[2]).await.0, 200);
}

#[tokio::test]
async fn google_revocation_ends_the_grant_and_a_dead_token_is_invalid_token() {
    let net = Net::start(NetworkKind::Google).await;
    let body = google_exchange(&net, &[("access_type", "offline")]).await;
    let (access, refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    let revoke = format!("{}/revoke?token={refresh}", net.fake.base_url());
    let response = net.http.post(&revoke).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!net.fake.controls().accepts(access));
    let (status, body) = net.me(access).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (401, Some("Invalid Credentials"))
    );
    let (status, body) = google_refresh(&net, refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let response = net.http.post(&revoke).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn google_discovery_names_the_fake_endpoints_and_both_client_auth_methods() {
    let net = Net::start(NetworkKind::Google).await;
    let (status, doc) = net.get(net.fake.discovery_url().unwrap(), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], net.fake.base_url());
    assert_eq!(doc["authorization_endpoint"], net.fake.authorize_url());
    assert_eq!(doc["token_endpoint"], net.fake.token_url());
    assert_eq!(doc["userinfo_endpoint"], net.fake.me_url());
    assert_eq!(doc["revocation_endpoint"], net.fake.revoke_url().unwrap());
    assert!(doc.get("introspection_endpoint").is_none());
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_post", "client_secret_basic"])
    );
    let ids: Vec<_> = NetworkKind::ALL
        .into_iter()
        .filter(|k| *k != NetworkKind::Google)
        .collect();
    for kind in ids {
        assert!(Net::start(kind).await.fake.discovery_url().is_none());
    }
}

// ----- TikTok -----

async fn tiktok_token(net: &Net, form: &[(&str, &str)]) -> (u16, Value) {
    let mut full = form.to_vec();
    full.extend([("client_key", ID), ("client_secret", SECRET)]);
    net.post(net.fake.token_url(), &full, false).await
}

async fn tiktok_exchange(net: &Net) -> Value {
    let code = net.code("user.info.basic,video.list", &[]).await;
    net.redeem(
        &code,
        &[("client_key", ID), ("client_secret", SECRET)],
        false,
    )
    .await
}

#[tokio::test]
async fn tiktok_takes_client_key_and_comma_separated_scopes() {
    let net = Net::start(NetworkKind::TikTok).await;
    let mut query = net.authorize_query("user.info.basic,video.list", &[]);
    for (k, _) in query.iter_mut().filter(|(k, _)| k == "client_key") {
        *k = "client_id".into();
    }
    assert_eq!(
        net.authorize(&query).await.status(),
        400,
        "client_id is not TikTok's"
    );
    let spaced = net.authorize_query("user.info.basic video.list", &[]);
    assert_eq!(
        net.authorize(&spaced).await.status(),
        400,
        "scopes are comma-separated"
    );

    let code = net.code("user.info.basic,video.list", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    // Basic is not read: the body must carry the client's key and secret.
    let (status, body) = net.post(net.fake.token_url(), &form, true).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    assert!(body["log_id"].is_string(), "{body}");
    let (status, body) = tiktok_token(&net, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "user.info.basic,video.list");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["refresh_expires_in"], 180 * 86_400);
    assert!(body["open_id"].is_string());
    let (status, info) = net.me(body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(info["data"]["user"]["open_id"], body["open_id"]);
    assert_eq!(info["error"]["code"], "ok");
}

#[tokio::test]
async fn tiktok_refresh_tokens_rotate_within_a_chain_that_keeps_its_end() {
    let net = Net::start(NetworkKind::TikTok).await;
    let first = tiktok_exchange(&net).await;
    let old = first["refresh_token"].as_str().unwrap();
    net.advance(Duration::days(10));
    let refresh = |t: &str| {
        [("grant_type", "refresh_token"), ("refresh_token", t)].map(|(k, v)| (k, v.to_owned()))
    };
    let form = refresh(old);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, second) = tiktok_token(&net, &form).await;
    assert_eq!(status, 200, "{second}");
    let new = second["refresh_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        second["refresh_expires_in"],
        170 * 86_400,
        "the chain's end stays"
    );

    let (status, body) = tiktok_token(&net, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(net.fake.controls().refresh_token_reuses(), 1);
    assert!(net.fake.controls().refresh_token_usable(new));

    net.advance(Duration::days(170));
    let form = refresh(new);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = tiktok_token(&net, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn tiktok_revocation_removes_the_app() {
    let net = Net::start(NetworkKind::TikTok).await;
    let body = tiktok_exchange(&net).await;
    let access = body["access_token"].as_str().unwrap();
    let form = [
        ("token", access),
        ("client_key", ID),
        ("client_secret", SECRET),
    ];
    let (status, body) = net.post(net.fake.revoke_url().unwrap(), &form, false).await;
    assert_eq!((status, body), (200, serde_json::json!({})));
    let (status, body) = net.me(access).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "access_token_invalid");
}

// ----- Instagram and Threads -----

/// Consents, exchanges the code and the short-lived token: the 60-day token.
async fn meta_long_lived(net: &Net) -> String {
    let basic = match net.kind() {
        NetworkKind::Threads => "threads_basic,threads_content_publish",
        _ => "instagram_business_basic,instagram_business_content_publish",
    };
    let code = net.code(basic, &[]).await;
    let form = [
        ("client_id", ID),
        ("client_secret", SECRET),
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK),
        ("code", code.as_str()),
    ];
    let (status, body) = net.post(net.fake.token_url(), &form, false).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["user_id"].is_u64(), "{body}");
    let short = body["access_token"].as_str().unwrap().to_owned();
    let grant = grant(net.kind(), "exchange");
    let query = [
        ("grant_type", grant.as_str()),
        ("client_secret", SECRET),
        ("access_token", &short),
    ];
    let (status, body) = net.get(net.fake.exchange_url(), &query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 60 * 86_400);
    body["access_token"].as_str().unwrap().to_owned()
}

fn grant(kind: NetworkKind, what: &str) -> String {
    let prefix = if kind == NetworkKind::Threads {
        "th"
    } else {
        "ig"
    };
    format!("{prefix}_{what}_token")
}

async fn meta_refresh(net: &Net, token: &str) -> (u16, Value) {
    let grant = grant(net.kind(), "refresh");
    let query = [("grant_type", grant.as_str()), ("access_token", token)];
    net.get(net.fake.refresh_url(), &query).await
}

#[tokio::test]
async fn instagram_and_threads_renew_only_between_a_day_old_and_expiry() {
    for kind in [NetworkKind::Instagram, NetworkKind::Threads] {
        let net = Net::start(kind).await;
        let token = meta_long_lived(&net).await;

        let (status, body) = meta_refresh(&net, &token).await;
        assert_eq!(status, 400, "{kind:?} too young");
        assert_eq!(body["error"]["type"], "OAuthException");
        assert_ne!(body["error"]["code"], 190, "a young token is alive: {body}");
        assert!(net.fake.controls().accepts(&token));

        net.advance(Duration::hours(24));
        let (status, body) = meta_refresh(&net, &token).await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["expires_in"], 60 * 86_400);
        let renewed = body["access_token"].as_str().unwrap().to_owned();
        let (status, me) = net.me(&renewed).await;
        assert_eq!(status, 200);
        assert!(me["username"].is_string());

        net.advance(Duration::days(60));
        let (status, body) = meta_refresh(&net, &renewed).await;
        assert_eq!(status, 400, "{kind:?} expired");
        assert_eq!(body["error"]["code"], 190);
        assert_eq!(body["error"]["error_subcode"], 463);
        assert!(!net.fake.controls().accepts(&renewed));
        assert_eq!(net.fake.controls().refresh_grants(), 1);
    }
}

#[tokio::test]
async fn instagram_and_threads_refuse_each_others_grant_names() {
    let ig = Net::start(NetworkKind::Instagram).await;
    let token = meta_long_lived(&ig).await;
    ig.advance(Duration::days(2));
    let query = [
        ("grant_type", "th_refresh_token"),
        ("access_token", token.as_str()),
    ];
    let (status, body) = ig.get(ig.fake.refresh_url(), &query).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (400, Some(100)));
}

#[tokio::test]
async fn an_expired_short_lived_token_cannot_be_exchanged() {
    let net = Net::start(NetworkKind::Instagram).await;
    let code = net.code("instagram_business_basic", &[]).await;
    let form = [
        ("client_id", ID),
        ("client_secret", SECRET),
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK),
        ("code", code.as_str()),
    ];
    let (_, body) = net.post(net.fake.token_url(), &form, false).await;
    let short = body["access_token"].as_str().unwrap();
    net.advance(Duration::hours(1));
    let query = [
        ("grant_type", "ig_exchange_token"),
        ("client_secret", SECRET),
        ("access_token", short),
    ];
    let (status, body) = net.get(net.fake.exchange_url(), &query).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (400, Some(190)));
}

// ----- Facebook -----

async fn fb_exchange(net: &Net, token: &str) -> (u16, Value) {
    let query = [
        ("grant_type", "fb_exchange_token"),
        ("client_id", ID),
        ("client_secret", SECRET),
        ("fb_exchange_token", token),
    ];
    net.get(net.fake.exchange_url(), &query).await
}

/// Facebook's code exchange: a GET with the client's credentials in the query.
async fn fb_code_exchange(net: &Net, scope: &str) -> Value {
    let code = net.code(scope, &[]).await;
    let query = [
        ("client_id", ID),
        ("client_secret", SECRET),
        ("redirect_uri", CALLBACK),
        ("code", code.as_str()),
    ];
    let (status, body) = net.get(net.fake.token_url(), &query).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn facebook_keeps_tokens_alive_with_fb_exchange_token_while_they_live() {
    let net = Net::start(NetworkKind::Facebook).await;
    let body = fb_code_exchange(&net, "public_profile,pages_show_list").await;
    assert_eq!(body["expires_in"], 3600);
    let (status, long) = fb_exchange(&net, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{long}");
    assert_eq!(long["expires_in"], 60 * 86_400);
    let long = long["access_token"].as_str().unwrap().to_owned();
    net.advance(Duration::days(59));
    let (status, again) = fb_exchange(&net, &long).await;
    assert_eq!(
        status, 200,
        "a live long-lived token is exchanged again: {again}"
    );
    let renewed = again["access_token"].as_str().unwrap().to_owned();
    net.advance(Duration::days(1));
    let (status, body) = fb_exchange(&net, &long).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["error_subcode"], 463);
    assert!(body["error"]["fbtrace_id"].is_string());
    let (status, me) = net.me(&renewed).await;
    assert_eq!(status, 200);
    assert!(me["id"].is_string());
}

#[tokio::test]
async fn facebook_members_remove_the_app_through_their_permissions() {
    let net = Net::start(NetworkKind::Facebook).await;
    let body = fb_code_exchange(&net, "public_profile").await;
    let token = body["access_token"].as_str().unwrap();
    let response = (net.http.delete(net.fake.revoke_url().unwrap()))
        .query(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = net.me(token).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["error_subcode"], 458);
}

async fn debug_token(net: &Net, input: &str, app_token: &str) -> (u16, Value) {
    let query = [("input_token", input), ("access_token", app_token)];
    net.get(net.fake.debug_token_url().unwrap(), &query).await
}

#[tokio::test]
async fn facebook_debug_token_answers_with_the_app_token_only() {
    let net = Net::start(NetworkKind::Facebook).await;
    let controls = net.fake.controls();
    let issued = controls.issue_tokens(member("4242"), &["public_profile"]);
    let app_token = format!("{ID}|{SECRET}");
    let (status, body) = debug_token(&net, &issued.access_token, &app_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["is_valid"], true);
    assert_eq!(body["data"]["expires_at"], issued.expires_at.timestamp());
    assert_eq!(body["data"]["user_id"], "4242");
    assert_eq!(
        body["data"]["scopes"],
        serde_json::json!(["public_profile"])
    );
    let (status, body) = debug_token(&net, &issued.access_token, &format!("{ID}|wrong")).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (400, Some(190)));
    controls.revoke_member("4242");
    let (_, body) = debug_token(&net, &issued.access_token, &app_token).await;
    assert_eq!(body["data"]["is_valid"], false);
    assert_eq!(body["data"]["error"]["subcode"], 458);
    assert_eq!(controls.calls(NetworkEndpoint::Me), 3);
}

// ----- What every network fake shares -----

#[tokio::test]
async fn every_network_counts_calls_and_takes_injected_faults() {
    for kind in NetworkKind::ALL {
        let net = Net::start(kind).await;
        let controls = net.fake.controls();
        controls.inject_fault(
            NetworkEndpoint::Me,
            Fault::TooManyRequests {
                retry_after: Some(7),
            },
            Some(1),
        );
        controls.inject_fault(NetworkEndpoint::Me, Fault::Status(503), Some(1));
        let response = (net.http.get(net.fake.me_url())).send().await.unwrap();
        assert_eq!(response.status(), 429, "{kind:?}");
        assert_eq!(response.headers()["retry-after"], "7");
        let response = (net.http.get(net.fake.me_url())).send().await.unwrap();
        assert_eq!(response.status(), 503, "{kind:?}");
        let response = (net.http.get(net.fake.me_url())).send().await.unwrap();
        assert!(response.status().is_client_error(), "{kind:?}: no token");
        assert_eq!(controls.calls(NetworkEndpoint::Me), 3);
        assert_eq!(controls.calls(NetworkEndpoint::Token), 0);
    }
}

/// Starts an X refresh that the fake holds until the gate opens; returns once X has it: the
/// refresh token, the gate, and the client (the status it gets, if it stays for it).
async fn held_x_refresh(net: &Net) -> (String, Gate, tokio::task::JoinHandle<u16>) {
    let body = x_exchange(net, "tweet.read offline.access").await;
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let gate = Gate::new();
    let controls = net.fake.controls();
    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Hold(gate.clone()), Some(1));
    let (url, http, token) = (net.fake.token_url(), net.http.clone(), refresh.clone());
    let client = tokio::spawn(async move {
        let form = [("grant_type", "refresh_token"), ("refresh_token", &token)];
        let request = http.post(url).basic_auth(ID, Some(SECRET)).form(&form);
        request.send().await.unwrap().status().as_u16()
    });
    controls.wait_for_calls(NetworkEndpoint::Refresh, 1).await;
    (refresh, gate, client)
}

#[tokio::test]
async fn a_held_refresh_answers_when_the_gate_opens() {
    let net = Net::start(NetworkKind::X).await;
    let (_, gate, client) = held_x_refresh(&net).await;
    let controls = net.fake.controls();
    assert_eq!(controls.refresh_grants(), 0, "held before answering");
    gate.open();
    assert_eq!(client.await.unwrap(), 200);
    assert_eq!(controls.refresh_grants(), 1);
}

#[tokio::test]
async fn a_refresh_whose_client_hung_up_still_rotates_the_token() {
    let net = Net::start(NetworkKind::X).await;
    let (old, gate, client) = held_x_refresh(&net).await;
    let controls = net.fake.controls();
    // The client goes away (its process is killed) while X holds the answer.
    client.abort();
    let _ = client.await;
    gate.open();
    let granted = controls.wait_for_refresh_grants(1);
    tokio::time::timeout(std::time::Duration::from_secs(30), granted)
        .await
        .expect("X finishes the refresh although nobody reads the answer");
    assert!(!controls.refresh_token_usable(&old), "spent");
    let (status, _) = x_refresh(&net, &old).await;
    assert_eq!(
        status, 400,
        "the next refresh with the old token is refused"
    );
    assert_eq!(controls.refresh_token_reuses(), 1);
}

#[tokio::test]
async fn access_tokens_are_accepted_until_they_expire() {
    let net = Net::start(NetworkKind::Google).await;
    let body = google_exchange(&net, &[]).await;
    let access = body["access_token"].as_str().unwrap();
    assert!(net.fake.controls().accepts(access));
    assert!(!net.fake.controls().accepts("never-issued"));
    net.advance(Duration::seconds(3598));
    assert!(net.fake.controls().accepts(access));
    net.advance(Duration::seconds(1));
    assert!(!net.fake.controls().accepts(access));
    assert_eq!(net.me(access).await.0, 401);
}

#[tokio::test]
async fn tokens_issued_without_the_consent_page_work_like_any_other() {
    for kind in NetworkKind::ALL {
        let net = Net::start(kind).await;
        let controls = net.fake.controls();
        let issued =
            controls.issue_tokens(member("17841400000000001"), &["basic", "offline.access"]);
        assert!(controls.accepts(&issued.access_token), "{kind:?}");
        assert_eq!(net.me(&issued.access_token).await.0, 200, "{kind:?}");
        let meta = matches!(
            kind,
            NetworkKind::Instagram | NetworkKind::Threads | NetworkKind::Facebook
        );
        assert_eq!(issued.refresh_token.is_none(), meta, "{kind:?}");
        if let Some(refresh) = issued.refresh_token {
            assert!(controls.refresh_token_usable(&refresh), "{kind:?}");
        }
        controls.revoke_member("17841400000000001");
        assert!(!controls.accepts(&issued.access_token), "{kind:?}");
    }
}

#[tokio::test]
async fn network_controls_work_over_http() {
    let net = Net::start(NetworkKind::TikTok).await;
    let body = tiktok_exchange(&net).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    assert_eq!(tiktok_token(&net, &form).await.0, 200);
    assert_eq!(tiktok_token(&net, &form).await.0, 400);
    let base = net.fake.base_url();
    let fault = serde_json::json!({"endpoint": "refresh", "fault": {"status": 503}, "times": 1});
    let response = net
        .http
        .post(format!("{base}/_fake/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(tiktok_token(&net, &form).await.0, 503);
    let member = body["open_id"].as_str().unwrap();
    let revoke = serde_json::json!({"sub": member});
    let response = net
        .http
        .post(format!("{base}/_fake/revoke"))
        .json(&revoke)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, stats) = net.get(format!("{base}/_fake/stats"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(stats["network"], "tiktok");
    assert_eq!(stats["refresh_token_reuses"], 1);
    assert_eq!(stats["refresh_grants"], 1);
    assert_eq!(stats["calls"]["refresh"], 3);
}

// ----- Benchmark mode -----

/// Renews `token` in the network's own way: the refresh grant (X, Google, TikTok), Meta's
/// renewal of the access token (Instagram, Threads) or `fb_exchange_token` (Facebook).
async fn renew(net: &Net, token: &str) -> (u16, Value) {
    match net.kind() {
        NetworkKind::X | NetworkKind::Google => net.refresh_grant(token).await,
        NetworkKind::TikTok => {
            let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
            tiktok_token(net, &form).await
        }
        NetworkKind::Instagram | NetworkKind::Threads => meta_refresh(net, token).await,
        NetworkKind::Facebook => fb_exchange(net, token).await,
    }
}

fn benchmark_mode() -> FakeNetworkConfig {
    FakeNetworkConfig {
        accept_unknown_tokens: true,
        ..FakeNetworkConfig::default()
    }
}

#[tokio::test]
async fn in_benchmark_mode_every_network_renews_tokens_it_never_issued() {
    for kind in NetworkKind::ALL {
        let strict = Net::start(kind).await;
        let (status, body) = renew(&strict, "seeded-by-a-benchmark").await;
        assert_ne!(
            status, 200,
            "{kind:?} takes an unknown token by default: {body}"
        );
        assert_eq!(strict.fake.controls().refresh_grants(), 0);

        let lenient = Net::start_with(kind, benchmark_mode()).await;
        let (status, body) = renew(&lenient, "seeded-by-a-benchmark").await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        let access_token = body["access_token"].as_str().unwrap();
        assert!(lenient.fake.controls().accepts(access_token), "{kind:?}");
        assert_eq!(lenient.fake.controls().refresh_grants(), 1, "{kind:?}");
        // The rotating networks rotate the adopted token as any other (X: it was granted
        // offline.access).
        if matches!(kind, NetworkKind::X | NetworkKind::TikTok) {
            assert!(body["refresh_token"].is_string(), "{kind:?}: {body}");
            let (again, _) = renew(&lenient, "seeded-by-a-benchmark").await;
            assert_eq!(again, 400, "{kind:?}: a spent adopted token is refused");
        }
    }
}

#[tokio::test]
async fn token_latency_delays_every_networks_token_calls() {
    let latency = std::time::Duration::from_millis(150);
    for kind in NetworkKind::ALL {
        let net = Net::start_with(
            kind,
            FakeNetworkConfig {
                token_latency: latency,
                ..benchmark_mode()
            },
        )
        .await;
        // A lower bound only: a loaded machine can make the call slower, never faster.
        let started = std::time::Instant::now();
        let (status, body) = renew(&net, "seeded-by-a-benchmark").await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert!(
            started.elapsed() >= latency,
            "{kind:?}: {:?}",
            started.elapsed()
        );
    }
}
