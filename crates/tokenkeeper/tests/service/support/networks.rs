//! The service with fake networks configured as providers: each fake runs on its own socket
//! on a stopped clock at `t0`, and `[providers.NAME]` (NAME = the network's kind) points
//! every endpoint at it, as an operator would point them at a test server.

use super::{location, spawn_on, t0, Setup, TestApp, API_KEY};
use chrono::{DateTime, Utc};
use fake_linkedin::{FakeNetwork, FakeNetworkConfig, NetworkControls, NetworkKind};
use reqwest::StatusCode;
use std::ops::Deref;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::domain::{Account, ProviderName, UserId};
use tokenkeeper::refresh::{SweepOptions, SweepReport};
use url::Url;

/// The service and the fakes it is configured with. Derefs to the [`TestApp`] (whose own
/// fake LinkedIn is there too, unused).
pub struct NetworkedApp {
    pub app: TestApp,
    networks: Vec<FakeNetwork>,
}

impl Deref for NetworkedApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// Starts a fake of each kind, then the service with each configured as the provider named
/// after its kind; `None` when the backend is not available here.
pub async fn spawn_with_networks(
    backend: Backend,
    kinds: &[NetworkKind],
    mut setup: Setup,
) -> Option<NetworkedApp> {
    let db = TestDatabase::create(backend).await?;
    let mut networks = Vec::new();
    for kind in kinds {
        let config = FakeNetworkConfig {
            start_time: t0(),
            clock_runs: false,
            ..FakeNetworkConfig::default()
        };
        let fake = FakeNetwork::start(*kind, config.clone())
            .await
            .expect("fake network starts");
        for (key, value) in provider_vars(&fake, &config) {
            setup = setup.var(key, value);
        }
        networks.push(fake);
    }
    let app = spawn_on(db, setup).await;
    Some(NetworkedApp { app, networks })
}

/// `[providers.NAME]` for `fake`: its kind, the fake's client, and its endpoints. Meta's
/// Graph endpoints all move with the token URL's origin; its consent page moves on its own.
fn provider_vars(fake: &FakeNetwork, config: &FakeNetworkConfig) -> Vec<(&'static str, String)> {
    let kind = fake.kind();
    let mut vars = vec![
        ("KIND", kind.name().to_owned()),
        ("CLIENT_ID", config.client_id.clone()),
        ("CLIENT_SECRET", config.client_secret.clone()),
        ("AUTHORIZE_URL", fake.authorize_url()),
        ("TOKEN_URL", fake.token_url()),
    ];
    if !is_meta(kind) {
        vars.push(("USERINFO_URL", fake.me_url()));
        if let Some(revoke) = fake.revoke_url() {
            vars.push(("REVOCATION_URL", revoke));
        }
    }
    let section = kind.name().to_uppercase();
    vars.into_iter()
        // `Setup::var` takes the static keys its callers write out; these are built once per
        // test, and a test process ends soon enough for the few bytes not to matter.
        .map(|(key, value)| {
            let key: &'static str = Box::leak(format!("PROVIDERS__{section}__{key}").into());
            (key, value)
        })
        .collect()
}

fn is_meta(kind: NetworkKind) -> bool {
    matches!(
        kind,
        NetworkKind::Instagram | NetworkKind::Threads | NetworkKind::Facebook
    )
}

pub fn provider(kind: NetworkKind) -> ProviderName {
    ProviderName::parse(kind.name()).unwrap()
}

impl NetworkedApp {
    pub fn fake(&self, kind: NetworkKind) -> &FakeNetwork {
        self.networks
            .iter()
            .find(|n| n.kind() == kind)
            .unwrap_or_else(|| panic!("{kind:?} was not started"))
    }

    pub fn network(&self, kind: NetworkKind) -> NetworkControls {
        self.fake(kind).controls()
    }

    /// Moves every clock to `t`: ours, the fake LinkedIn's and each network's.
    pub fn at(&self, t: DateTime<Utc>) {
        self.app.at(t);
        for network in &self.networks {
            network.controls().set_now(t);
        }
    }

    pub async fn sweep_at(&self, t: DateTime<Utc>) -> SweepReport {
        self.at(t);
        self.app
            .engine
            .sweep(SweepOptions::default())
            .await
            .expect("the sweep runs")
    }

    /// The connect flow through `kind`'s consent page, as the host app and the member's
    /// browser go through it: the authorize URL the service sent the browser to, and the
    /// stored account.
    pub async fn connect_through(&self, kind: NetworkKind, user_id: &str) -> (Url, Account) {
        let body = serde_json::json!({
            "user_id": user_id,
            "email": format!("{user_id}@example.com"),
            "provider": kind.name(),
        });
        let answer = self
            .browser
            .post(self.url("/api/v1/connect-links"))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "connect link for {kind:?}");
        let answer: serde_json::Value = answer.json().await.unwrap();
        let link = Url::parse(answer["url"].as_str().unwrap()).unwrap();
        assert_eq!(link.path(), format!("/connect/{}", kind.name()));

        let to_network = self.browser.get(link).send().await.unwrap();
        assert!(
            to_network.status().is_redirection(),
            "{kind:?} connect link"
        );
        let authorize = location(&to_network);
        assert!(
            authorize
                .as_str()
                .starts_with(&self.fake(kind).authorize_url()),
            "{authorize}"
        );
        let back = self.browser.get(authorize.clone()).send().await.unwrap();
        assert!(
            back.status().is_redirection(),
            "{kind:?} consent page answered {}: {}",
            back.status(),
            back.text().await.unwrap()
        );
        let callback = location(&back);
        assert_eq!(callback.path(), format!("/oauth/{}/callback", kind.name()));
        let done = self.browser.get(callback).send().await.unwrap();
        let status = done.status();
        let page = done.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{kind:?} callback: {page}");
        assert!(page.contains("is connected"), "{page}");
        (authorize, self.account_of(kind, user_id).await)
    }

    pub async fn account_of(&self, kind: NetworkKind, user_id: &str) -> Account {
        self.store
            .account_by_user(&provider(kind), &UserId::parse(user_id).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{user_id} has a {kind:?} account"))
    }

    /// `POST /api/v1/accounts/{user}/refresh?provider=…`, as the host app asks for one.
    pub async fn refresh_now(
        &self,
        kind: NetworkKind,
        user_id: &str,
    ) -> (StatusCode, serde_json::Value) {
        self.api_request(
            reqwest::Method::POST,
            &format!(
                "/api/v1/accounts/{user_id}/refresh?provider={}",
                kind.name()
            ),
        )
        .await
    }

    /// The kinds of the notifications queued for `account_id`.
    pub async fn notification_kinds(&self, account_id: i64) -> Vec<String> {
        self.store
            .notifications_for(account_id)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.kind.to_string())
            .collect()
    }
}
