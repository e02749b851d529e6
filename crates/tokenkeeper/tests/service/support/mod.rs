pub mod fake_x;
pub mod harness;
pub mod log_capture;
pub mod metric_values;
pub mod networks;
pub mod oidc_provider;
pub mod panicking_store;
pub mod raw_sql;
pub mod webhook_receiver;

use chrono::{DateTime, Duration, TimeZone, Utc};
use fake_linkedin::{FakeConfig, FakeLinkedIn};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use std::sync::Arc;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::app::Application;
use tokenkeeper::config::Config;
use tokenkeeper::domain::{
    AccessToken, Account, EmailAddress, LinkedAccount, MemberId, RefreshToken, UserId,
};
use tokenkeeper::domain::{ManualClock, TokenSet};
use tokenkeeper::refresh::RefreshEngine;
use tokenkeeper::refresh::{SweepOptions, SweepReport};
use tokenkeeper::store::{self, Store};
use url::Url;

pub const API_KEY: &str = "test-api-key-0123456789";
pub const RETURN_ORIGIN: &str = "https://app.example.com";
/// The keyring of every spawned app: a fixed key, so a test can open what the app sealed.
pub const ENCRYPTION_KEYS: &str = "test-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The cipher of `ENCRYPTION_KEYS`, for tests that open a store of their own.
pub fn test_cipher() -> tokenkeeper::crypto::TokenCipher {
    tokenkeeper::crypto::TokenCipher::new(
        tokenkeeper::crypto::Keyring::parse(ENCRYPTION_KEYS, None).unwrap(),
    )
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

pub struct TestApp {
    pub links: tokenkeeper::connect_link::ConnectLinks,
    pub base: Url,
    pub engine: RefreshEngine,
    /// The providers the service runs with, as its composition root built them.
    pub providers: tokenkeeper::provider::Providers,
    pub store: Arc<dyn Store>,
    pub fake: FakeLinkedIn,
    pub clock: Arc<ManualClock>,
    /// A browser that keeps cookies and does not follow redirects, so each hop can be checked.
    pub browser: reqwest::Client,
    pub config: Config,
    /// Where `/metrics` is served (tests bind it on a free port).
    pub metrics_base: Option<Url>,
    /// The success report the service's gauges last showed.
    pub success_report: tokenkeeper::report::LatestReport,
    /// Stands for SIGTERM: sending (or dropping) it shuts the server down.
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: tokio::task::JoinHandle<()>,
    _db: TestDatabase,
}

/// How a test wants its service: extra configuration (keys without the TOKENKEEPER_ prefix)
/// and the fake LinkedIn's settings.
pub struct Setup {
    pub vars: Vec<(&'static str, String)>,
    pub fake: FakeConfig,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            vars: Vec::new(),
            fake: FakeConfig {
                start_time: t0(),
                ..FakeConfig::default()
            },
        }
    }
}

impl Setup {
    pub fn var(mut self, key: &'static str, value: impl ToString) -> Self {
        self.vars.push((key, value.to_string()));
        self
    }
}

/// Starts the fake LinkedIn and the service on free ports over a fresh database; `None` when
/// the backend is not available here (PostgreSQL outside CI).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn(backend, Setup::default()).await
}

pub async fn spawn(backend: Backend, setup: Setup) -> Option<TestApp> {
    let db = TestDatabase::create(backend).await?;
    Some(spawn_on(db, setup).await)
}

/// Starts the service as `spawn` does, over a database the test has prepared (as an earlier
/// version left it, say); the service migrates it.
pub async fn spawn_on(db: TestDatabase, setup: Setup) -> TestApp {
    let fake = FakeLinkedIn::start(setup.fake)
        .await
        .expect("fake LinkedIn starts");
    let defaults = FakeConfig::default();
    // The test's own settings replace these defaults rather than sit beside them: with two
    // values for one key, configuration loading would keep whichever sorts last.
    let overridden: Vec<&str> = setup.vars.iter().map(|(k, _)| *k).collect();
    let defaults_kept = |(key, _): &(&str, String)| !overridden.contains(key);
    let vars: Vec<(String, String)> = [
        ("DATABASE_URL", db.url.clone()),
        ("HTTP__BIND", "127.0.0.1:0".to_owned()),
        ("API__API_KEY", API_KEY.to_owned()),
        (
            "CONNECT__SIGNING_KEY",
            "test-signing-key-0123456789abcdef0123".to_owned(),
        ),
        ("CONNECT__ALLOWED_RETURN_ORIGINS", RETURN_ORIGIN.to_owned()),
        ("LINKEDIN__CLIENT_ID", defaults.client_id.clone()),
        ("LINKEDIN__CLIENT_SECRET", defaults.client_secret.clone()),
        ("LINKEDIN__AUTHORIZE_URL", fake.authorize_url()),
        ("LINKEDIN__TOKEN_URL", fake.token_url()),
        ("LINKEDIN__INTROSPECT_URL", fake.introspect_url()),
        ("LINKEDIN__USERINFO_URL", fake.userinfo_url()),
        ("LINKEDIN__TIMEOUT_SECONDS", "2".to_owned()),
        ("LINKEDIN__CALLBACK_RETRY_INITIAL_MS", "10".to_owned()),
        ("LINKEDIN__CALLBACK_RETRY_MAX_TOTAL_MS", "1000".to_owned()),
        // Tests run sweeps themselves, unless they test the scheduler.
        ("SCHEDULE__ENABLED", "false".to_owned()),
        ("REFRESH__RETRY_INITIAL_MS", "20".to_owned()),
        ("REFRESH__RETRY_MAX_TOTAL_SECONDS", "5".to_owned()),
        ("REFRESH__RATE_PER_SECOND", "10000".to_owned()),
        ("HTTP__METRICS_BIND", "127.0.0.1:0".to_owned()),
        ("ENCRYPTION__KEYS", ENCRYPTION_KEYS.to_owned()),
    ]
    .into_iter()
    .filter(defaults_kept)
    .chain(setup.vars)
    .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v))
    .collect();
    let config = Config::load_from(None, vars).expect("test configuration is valid");
    let store = store::connect_with_webhooks(
        &db.url,
        config.encryption.cipher().unwrap(),
        config.webhooks.events(),
    )
    .await
    .expect("database opens");
    store.migrate().await.expect("migrations apply");
    let clock = Arc::new(ManualClock::new(t0()));
    let app = Application::build_with_store(config.clone(), store.clone(), clock.clone())
        .await
        .expect("application builds");
    let base = app.public_url().clone();
    let engine = app.engine().clone();
    let providers = app.services().providers.clone();
    let links = app.state().links.clone();
    let success_report = app.state().success_report.clone();
    let metrics_base = app
        .metrics_address()
        .map(|a| Url::parse(&format!("http://{a}/")).unwrap());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("server runs")
    });
    let browser = new_browser();
    TestApp {
        links,
        base,
        engine,
        providers,
        store,
        fake,
        clock,
        browser,
        config,
        metrics_base,
        success_report,
        shutdown: Some(shutdown),
        server,
        _db: db,
    }
}

impl TestApp {
    /// The configuration of `app`, as environment variables for a separate process.
    pub fn process_env(&self) -> Vec<(String, String)> {
        use secrecy::ExposeSecret;
        let c = &self.config;
        vec![
            (
                "TOKENKEEPER_DATABASE_URL".into(),
                c.database_url.expose().to_owned(),
            ),
            (
                "TOKENKEEPER_LINKEDIN__CLIENT_ID".into(),
                c.linkedin.client_id.clone(),
            ),
            (
                "TOKENKEEPER_LINKEDIN__CLIENT_SECRET".into(),
                c.linkedin.client_secret.expose_secret().to_owned(),
            ),
            (
                "TOKENKEEPER_LINKEDIN__TOKEN_URL".into(),
                c.linkedin.token_url.to_string(),
            ),
            (
                "TOKENKEEPER_CONNECT__SIGNING_KEY".into(),
                c.connect.signing_key.expose_secret().to_owned(),
            ),
            ("TOKENKEEPER_REFRESH__RATE_PER_SECOND".into(), "1000".into()),
            (
                "TOKENKEEPER_ENCRYPTION__KEYS".into(),
                ENCRYPTION_KEYS.to_owned(),
            ),
        ]
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    /// `GET path` with the API key; the status and the JSON body.
    pub async fn api_get(&self, path: &str) -> (StatusCode, serde_json::Value) {
        self.api_request(reqwest::Method::GET, path).await
    }

    /// `method path` with the API key; the status and the JSON body.
    pub async fn api_request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> (StatusCode, serde_json::Value) {
        let answer = self
            .browser
            .request(method, self.url(path))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        (status, answer.json().await.unwrap())
    }

    pub fn metrics_url(&self) -> Url {
        let base = self.metrics_base.as_ref().expect("a metrics listener");
        base.join("/metrics").unwrap()
    }

    /// Asks the API for a connect link, as the host app does.
    pub async fn connect_link(&self, user_id: &str, email: &str, return_to: Option<&str>) -> Url {
        let response = self.request_connect_link(user_id, email, return_to).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        Url::parse(body["url"].as_str().unwrap()).unwrap()
    }

    pub async fn request_connect_link(
        &self,
        user_id: &str,
        email: &str,
        return_to: Option<&str>,
    ) -> reqwest::Response {
        let mut body = serde_json::json!({"user_id": user_id, "email": email});
        if let Some(r) = return_to {
            body["return_to"] = r.into();
        }
        self.browser
            .post(self.url("/api/v1/connect-links"))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Follows a connect link up to LinkedIn's redirect back to us, and returns the callback
    /// URL LinkedIn (the fake) sent the browser to.
    pub async fn consent(&self, link: &Url) -> Url {
        self.consent_in(&self.browser, link).await
    }

    /// `consent` in the given browser (another one than the test's, say).
    pub async fn consent_in(&self, browser: &reqwest::Client, link: &Url) -> Url {
        let to_linkedin = browser.get(link.clone()).send().await.unwrap();
        assert!(
            to_linkedin.status().is_redirection(),
            "connect link answered {}",
            to_linkedin.status()
        );
        let authorize = location(&to_linkedin);
        assert!(authorize.as_str().starts_with(&self.fake.authorize_url()));
        let back = browser.get(authorize).send().await.unwrap();
        assert!(
            back.status().is_redirection(),
            "fake authorize answered {}",
            back.status()
        );
        location(&back)
    }

    /// The whole flow for one user; returns the callback's response.
    pub async fn connect(&self, user_id: &str, email: &str) -> reqwest::Response {
        let link = self.connect_link(user_id, email, None).await;
        let callback = self.consent(&link).await;
        self.browser.get(callback).send().await.unwrap()
    }

    pub async fn account_count(&self) -> i64 {
        self.store.count_accounts().await.unwrap()
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use tokenkeeper::domain::Clock;
        self.clock.now()
    }

    /// Moves both clocks, ours and the fake LinkedIn's, to `t`.
    pub fn at(&self, t: DateTime<Utc>) {
        self.clock.set(t);
        self.fake.controls().set_now(t);
    }

    /// Links a user through the real connect flow and returns the stored account.
    pub async fn linked(&self, user_id: &str) -> Account {
        let email = format!("{user_id}@example.com");
        let response = self.connect(user_id, &email).await;
        assert_eq!(response.status(), StatusCode::OK, "linking {user_id}");
        self.account(user_id).await
    }

    /// Reconnects an existing account as the LinkedIn member it already has (a different
    /// member would be refused).
    pub async fn relinked(&self, user_id: &str) -> Account {
        let existing = self.account(user_id).await;
        let member = self
            .fake
            .controls()
            .members()
            .into_iter()
            .find(|m| m.sub == existing.member_id.as_str());
        self.fake.controls().login_as(member);
        let account = self.linked(user_id).await;
        self.fake.controls().login_as(None);
        account
    }

    pub async fn account(&self, user_id: &str) -> Account {
        self.store
            .account_by_user(
                tokenkeeper::domain::ProviderName::linkedin_ref(),
                &UserId::parse(user_id).unwrap(),
            )
            .await
            .unwrap()
            .expect("account exists")
    }

    /// Stores `count` accounts directly, as a host app's existing table would hold them, with
    /// refresh tokens the fake accepts only in `accept_unknown_refresh_tokens` mode.
    pub async fn seed(&self, count: usize, linked_at: DateTime<Utc>) -> Vec<Account> {
        self.seed_named("seed", count, linked_at).await
    }

    /// `seed`, with user ids `{prefix}-{i}`, so that several batches can be stored.
    pub async fn seed_named(
        &self,
        prefix: &str,
        count: usize,
        linked_at: DateTime<Utc>,
    ) -> Vec<Account> {
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let tokens = TokenSet {
                access_token: AccessToken::new(format!("{prefix}-access-{i}")),
                token_expires_at: linked_at + Duration::days(60),
                refresh_token: Some(RefreshToken::new(format!("{prefix}-refresh-{i}"))),
                refresh_token_expires_at: Some(linked_at + Duration::days(365)),
                scope: "openid profile email w_member_social".into(),
            };
            let account = LinkedAccount::new(
                UserId::parse(&format!("{prefix}-{i}")).unwrap(),
                MemberId::parse(&format!("{prefix}-member-{i}")).unwrap(),
                EmailAddress::parse(&format!("{prefix}-{i}@example.com")).unwrap(),
                Some(format!("{prefix} {i}")),
                tokens,
                linked_at,
                &self.config.refresh.expiry(),
            );
            out.push(self.store.save_linked_account(&account).await.unwrap());
        }
        out
    }

    /// How emails name each provider's network, as the service's own mail worker does.
    pub fn network_names(&self) -> tokenkeeper::notify::NetworkNames {
        tokenkeeper::notify::NetworkNames::of(&self.providers)
    }

    /// A mail worker sending to the test SMTP server on `port`.
    pub fn delivery(&self, port: u16) -> tokenkeeper::notify::Delivery {
        let mut smtp = self.config.smtp.clone();
        smtp.host = "127.0.0.1".into();
        smtp.port = port;
        smtp.security = tokenkeeper::config::SmtpSecurity::None;
        smtp.timeout = std::time::Duration::from_secs(5);
        let transport = tokenkeeper::notify::Transport::smtp(&smtp)
            .unwrap()
            .expect("an SMTP host is set");
        tokenkeeper::notify::Delivery {
            store: self.store.clone(),
            transport,
            renderer: tokenkeeper::notify::Renderer::new(&self.config.email)
                .unwrap()
                .naming(self.network_names()),
            links: self.links.clone(),
            clock: self.clock.clone(),
            smtp,
        }
    }

    pub async fn sweep_at(&self, t: DateTime<Utc>) -> SweepReport {
        self.at(t);
        self.engine
            .sweep(SweepOptions::default())
            .await
            .expect("the sweep runs")
    }
}

/// A browser of its own: cookies kept, redirects not followed.
pub fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

pub fn location(response: &reqwest::Response) -> Url {
    let raw = response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a redirect has a Location")
        .to_str()
        .unwrap();
    Url::parse(raw)
        .or_else(|_| response.url().join(raw))
        .unwrap()
}
