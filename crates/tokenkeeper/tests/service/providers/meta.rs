//! Instagram, Threads and Facebook through the provider port, against their fakes over real
//! HTTP on a stopped clock: a code becomes a 60-day token in one call, renewals happen only
//! inside Meta's window (and too early never reaches the network), Graph's errors are
//! classified, and `debug_token` tells what Facebook knows.

use crate::service_tests;
use chrono::{DateTime, Duration, TimeZone, Utc};
use fake_linkedin::{
    FakeNetwork, FakeNetworkConfig, Fault, Member, NetworkControls, NetworkEndpoint, NetworkKind,
};
use reqwest::redirect::Policy;
use secrecy::SecretString;
use tokenkeeper::domain::{AccessToken, ExpiryPolicy, ProviderKind, ProviderName};
use tokenkeeper::provider::meta::{MetaClient, MetaEndpoints, MetaSettings};
use tokenkeeper::provider::{
    AuthorizeRequest, FailureClass, HeldGrant, Introspection, Provider, ProviderError, Renewal,
};
use url::Url;

service_tests!(
    instagram_and_threads_codes_become_sixty_day_tokens_in_one_call,
    facebook_codes_become_sixty_day_tokens_through_fb_exchange_token,
    instagram_and_threads_renew_inside_the_window,
    a_token_under_a_day_old_is_too_early_without_asking_the_network,
    a_network_saying_too_young_is_too_early_not_a_failure,
    an_expired_token_cannot_be_renewed,
    facebook_renews_a_live_token_of_any_age_with_fb_exchange_token,
    a_member_who_removed_the_app_must_reconnect,
    throttles_and_outages_are_transient,
    a_wrong_app_secret_is_ours_to_fix,
    tokens_and_the_app_secret_never_reach_an_error,
    debug_token_tells_what_facebook_knows,
    facebook_revokes_by_removing_the_apps_permissions,
    the_next_renewal_falls_inside_the_window,
);

const SECRET: &str = "fake-client-secret";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn callback() -> Url {
    Url::parse("http://app.test/oauth/callback").unwrap()
}

fn member(sub: &str) -> Member {
    Member {
        sub: sub.into(),
        name: "Ada Lovelace".into(),
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        email: None,
    }
}

fn provider_kind(kind: NetworkKind) -> ProviderKind {
    match kind {
        NetworkKind::Instagram => ProviderKind::Instagram,
        NetworkKind::Threads => ProviderKind::Threads,
        NetworkKind::Facebook => ProviderKind::Facebook,
        other => panic!("{other:?} is not one of Meta's"),
    }
}

/// The network's basic permission and one more, as an app asks for them.
fn scopes(kind: NetworkKind) -> Vec<String> {
    let scopes: &[&str] = match kind {
        NetworkKind::Instagram => &[
            "instagram_business_basic",
            "instagram_business_content_publish",
        ],
        NetworkKind::Threads => &["threads_basic", "threads_content_publish"],
        _ => &["public_profile", "pages_show_list"],
    };
    scopes.iter().map(|s| s.to_string()).collect()
}

/// A fake of `kind` on a stopped clock at `t0`, and a client pointed at it.
struct Meta {
    fake: FakeNetwork,
    client: MetaClient,
}

impl Meta {
    async fn start(kind: NetworkKind) -> Self {
        Self::with_secret(kind, SECRET).await
    }

    async fn with_secret(kind: NetworkKind, secret: &str) -> Self {
        let fake = FakeNetwork::start(
            kind,
            FakeNetworkConfig {
                start_time: t0(),
                clock_runs: false,
                ..FakeNetworkConfig::default()
            },
        )
        .await
        .unwrap();
        let pkind = provider_kind(kind);
        let mut settings = MetaSettings::new(
            ProviderName::parse(kind.name()).unwrap(),
            pkind,
            "fake-client-id",
            SecretString::from(secret.to_owned()),
        )
        .unwrap();
        settings.endpoints =
            MetaEndpoints::on(pkind, &Url::parse(&fake.base_url()).unwrap()).unwrap();
        settings.scopes = scopes(kind);
        settings.timeout = std::time::Duration::from_secs(10);
        Self {
            client: MetaClient::new(settings).unwrap(),
            fake,
        }
    }

    fn controls(&self) -> NetworkControls {
        self.fake.controls()
    }

    fn now(&self) -> DateTime<Utc> {
        self.controls().now()
    }

    /// Follows the provider's authorize URL to the fake's consent page, consenting as
    /// `member`: the code sent back.
    async fn consent(&self, member_id: &str) -> String {
        self.controls().login_as(Some(member(member_id)));
        let redirect = callback();
        let url = self.client.authorize_url(&AuthorizeRequest {
            state: "s1",
            redirect_uri: &redirect,
            pkce: None,
        });
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        let back = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        back.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code")
    }

    /// A long-lived token for `member_id`, as if issued now.
    fn issue(&self, member_id: &str) -> (AccessToken, DateTime<Utc>) {
        let scopes = scopes(self.fake.kind());
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let issued = self.controls().issue_tokens(member(member_id), &scopes);
        (AccessToken::new(issued.access_token), issued.expires_at)
    }

    async fn refresh(
        &self,
        token: &AccessToken,
        expires_at: DateTime<Utc>,
        issued_at: DateTime<Utc>,
    ) -> Result<Renewal, ProviderError> {
        let held = HeldGrant {
            access_token: token,
            token_expires_at: expires_at,
            refresh_token: None,
            issued_at,
        };
        self.client.refresh(&held, self.now()).await
    }
}

fn assert_no_token(error: &ProviderError, token: &AccessToken) {
    // Said without quoting the text: it is what must not hold them.
    let text = error.to_string();
    assert!(
        !text.contains(token.expose()),
        "the error text holds the token"
    );
    assert!(
        !text.contains(SECRET),
        "the error text holds the app secret"
    );
}

async fn instagram_and_threads_codes_become_sixty_day_tokens_in_one_call() {
    for kind in [NetworkKind::Instagram, NetworkKind::Threads] {
        let meta = Meta::start(kind).await;
        let code = meta.consent("17841400000000001").await;
        let grant = (meta.client)
            .exchange_code(&code, &callback(), None, t0())
            .await
            .unwrap();
        let tokens = &grant.tokens;
        assert_eq!(
            tokens.token_expires_at,
            t0() + Duration::days(60),
            "{kind:?}"
        );
        assert!(tokens.refresh_token.is_none());
        assert_eq!(grant.subject.as_deref(), Some("17841400000000001"));
        let controls = meta.controls();
        assert!(controls.accepts(tokens.access_token.expose()), "{kind:?}");
        assert_eq!(
            (
                controls.calls(NetworkEndpoint::Token),
                controls.calls(NetworkEndpoint::Exchange)
            ),
            (1, 1),
            "{kind:?}: the code, then the short-lived token"
        );
        let identity = meta.client.identify(&grant).await.unwrap();
        assert_eq!(identity.subject, "17841400000000001");
        assert_eq!(identity.name.as_deref(), Some("ada.lovelace"));
    }
}

async fn facebook_codes_become_sixty_day_tokens_through_fb_exchange_token() {
    let meta = Meta::start(NetworkKind::Facebook).await;
    let code = meta.consent("4242").await;
    let grant = (meta.client)
        .exchange_code(&code, &callback(), None, t0())
        .await
        .unwrap();
    assert_eq!(grant.tokens.token_expires_at, t0() + Duration::days(60));
    assert_eq!(grant.tokens.scope, "public_profile pages_show_list");
    assert_eq!(grant.subject, None, "Facebook's answers do not say whose");
    let controls = meta.controls();
    assert!(controls.accepts(grant.tokens.access_token.expose()));
    assert_eq!(controls.calls(NetworkEndpoint::Token), 1);
    assert_eq!(
        controls.calls(NetworkEndpoint::Refresh),
        1,
        "fb_exchange_token"
    );
    let identity = meta.client.identify(&grant).await.unwrap();
    assert_eq!(identity.subject, "4242");
    assert_eq!(identity.name.as_deref(), Some("Ada Lovelace"));
}

async fn instagram_and_threads_renew_inside_the_window() {
    for kind in [NetworkKind::Instagram, NetworkKind::Threads] {
        let meta = Meta::start(kind).await;
        let (token, expires_at) = meta.issue("17841400000000002");
        meta.controls().advance(Duration::days(30));
        let renewal = meta.refresh(&token, expires_at, t0()).await.unwrap();
        let Renewal::Renewed(tokens) = renewal else {
            panic!("{kind:?}: {renewal:?}");
        };
        assert_eq!(tokens.token_expires_at, meta.now() + Duration::days(60));
        assert!(tokens.refresh_token.is_none());
        assert_eq!(tokens.scope, "", "{kind:?}: the stored scope stays");
        assert_ne!(tokens.access_token.expose(), token.expose());
        assert!(meta.controls().accepts(tokens.access_token.expose()));
        assert_eq!(meta.controls().refresh_grants(), 1);
    }
}

async fn a_token_under_a_day_old_is_too_early_without_asking_the_network() {
    for kind in [NetworkKind::Instagram, NetworkKind::Threads] {
        let meta = Meta::start(kind).await;
        let (token, expires_at) = meta.issue("17841400000000003");
        meta.controls().advance(Duration::hours(23));
        let renewal = meta.refresh(&token, expires_at, t0()).await.unwrap();
        assert!(
            matches!(renewal, Renewal::TooEarly { retry_at } if retry_at == t0() + Duration::hours(24)),
            "{kind:?}: {renewal:?}"
        );
        assert_eq!(
            meta.controls().calls(NetworkEndpoint::Refresh),
            0,
            "{kind:?}: nothing was sent"
        );
    }
}

async fn a_network_saying_too_young_is_too_early_not_a_failure() {
    // Our records say two days old (an import knows only when it arrived, a clock may be
    // off); the network issued it now.
    let meta = Meta::start(NetworkKind::Instagram).await;
    let (token, expires_at) = meta.issue("17841400000000004");
    let renewal = (meta.refresh(&token, expires_at, t0() - Duration::days(2)))
        .await
        .unwrap();
    assert!(
        matches!(renewal, Renewal::TooEarly { retry_at } if retry_at == t0() + Duration::hours(1)),
        "{renewal:?}"
    );
    assert_eq!(meta.controls().calls(NetworkEndpoint::Refresh), 1);
}

async fn an_expired_token_cannot_be_renewed() {
    for kind in [
        NetworkKind::Instagram,
        NetworkKind::Threads,
        NetworkKind::Facebook,
    ] {
        let meta = Meta::start(kind).await;
        let (token, expires_at) = meta.issue("17841400000000005");
        meta.controls().advance(Duration::days(61));
        let error = meta.refresh(&token, expires_at, t0()).await.unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent, "{kind:?}: {error}");
        assert_eq!(error.code(), Some("190/463"), "{kind:?}");
        assert_no_token(&error, &token);
    }
}

async fn facebook_renews_a_live_token_of_any_age_with_fb_exchange_token() {
    let meta = Meta::start(NetworkKind::Facebook).await;
    let (token, expires_at) = meta.issue("4243");
    // An hour old: Facebook has no waiting period.
    meta.controls().advance(Duration::hours(1));
    let renewal = meta.refresh(&token, expires_at, t0()).await.unwrap();
    let Renewal::Renewed(tokens) = renewal else {
        panic!("{renewal:?}");
    };
    assert_eq!(tokens.token_expires_at, meta.now() + Duration::days(60));
    assert!(tokens.refresh_token.is_none());
    assert!(meta.controls().accepts(tokens.access_token.expose()));
    assert_eq!(meta.controls().refresh_grants(), 1);
}

async fn a_member_who_removed_the_app_must_reconnect() {
    for kind in [
        NetworkKind::Instagram,
        NetworkKind::Threads,
        NetworkKind::Facebook,
    ] {
        let meta = Meta::start(kind).await;
        let (token, expires_at) = meta.issue("17841400000000006");
        meta.controls().advance(Duration::days(2));
        meta.controls().revoke_member("17841400000000006");
        let error = meta.refresh(&token, expires_at, t0()).await.unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent, "{kind:?}: {error}");
        assert_eq!(error.code(), Some("190/458"), "{kind:?}");
        assert_no_token(&error, &token);
        let error = meta.client.identify_token(&token).await.unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent, "{kind:?}: {error}");
        assert_no_token(&error, &token);
    }
}

async fn throttles_and_outages_are_transient() {
    for kind in [NetworkKind::Instagram, NetworkKind::Facebook] {
        let meta = Meta::start(kind).await;
        let (token, expires_at) = meta.issue("17841400000000007");
        meta.controls().advance(Duration::days(2));
        let faults = [
            Fault::TooManyRequests {
                retry_after: Some(30),
            },
            Fault::Status(503),
            // Graph's own throttle: a 400 with code 4.
            Fault::Respond {
                status: 400,
                headers: vec![("content-type".into(), "application/json".into())],
                body: r#"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"A"}}"#.into(),
            },
        ];
        for (fault, rate_limited) in faults.into_iter().zip([true, false, true]) {
            meta.controls()
                .inject_fault(NetworkEndpoint::Refresh, fault, Some(1));
            let error = meta.refresh(&token, expires_at, t0()).await.unwrap_err();
            assert_eq!(error.class(), FailureClass::Transient, "{kind:?}: {error}");
            assert_eq!(error.is_rate_limited(), rate_limited, "{kind:?}: {error}");
        }
        let renewal = meta.refresh(&token, expires_at, t0()).await.unwrap();
        assert!(
            matches!(renewal, Renewal::Renewed(_)),
            "{kind:?}: then it passes"
        );
    }
}

async fn a_wrong_app_secret_is_ours_to_fix() {
    for kind in [NetworkKind::Instagram, NetworkKind::Facebook] {
        let wrong = "a-wrong-app-secret";
        let meta = Meta::with_secret(kind, wrong).await;
        let code = meta.consent("17841400000000008").await;
        let error = (meta.client)
            .exchange_code(&code, &callback(), None, t0())
            .await
            .unwrap_err();
        assert_eq!(
            error.class(),
            FailureClass::Misconfiguration,
            "{kind:?}: {error}"
        );
        assert!(!error.to_string().contains(wrong), "{error}");
    }
}

async fn tokens_and_the_app_secret_never_reach_an_error() {
    let meta = Meta::start(NetworkKind::Facebook).await;
    let (token, expires_at) = meta.issue("4247");
    // Graph quotes a token it cannot parse; a lost connection's error names the URL, whose
    // query holds the token and the app secret.
    let quoting = Fault::Respond {
        status: 400,
        headers: vec![("content-type".into(), "application/json".into())],
        body: format!(
            r#"{{"error":{{"message":"Malformed access token {}","type":"OAuthException","code":190,"fbtrace_id":"A"}}}}"#,
            token.expose()
        ),
    };
    let controls = meta.controls();
    controls.inject_fault(NetworkEndpoint::Refresh, quoting, Some(1));
    controls.inject_fault(NetworkEndpoint::Refresh, Fault::Disconnect, Some(1));
    for expected in [FailureClass::Permanent, FailureClass::Transient] {
        let error = meta.refresh(&token, expires_at, t0()).await.unwrap_err();
        assert_eq!(error.class(), expected, "{error}");
        assert_no_token(&error, &token);
    }
    assert_eq!(controls.calls(NetworkEndpoint::Refresh), 2);
}

async fn debug_token_tells_what_facebook_knows() {
    let meta = Meta::start(NetworkKind::Facebook).await;
    assert!(meta.client.capabilities().introspection);
    let (alive, expires_at) = meta.issue("4244");
    let (removed, _) = meta.issue("4245");
    let (ending, _) = meta.issue("4246");
    meta.controls().revoke_member("4245");
    meta.controls().advance(Duration::days(1));
    let now = meta.now();
    assert_eq!(
        meta.client.introspect(&alive, now).await.unwrap(),
        Introspection::Active {
            expires_at,
            authorized_at: Some(t0()),
            scope: "public_profile pages_show_list".into(),
        }
    );
    let dead = |status: &str| Introspection::Dead {
        status: status.into(),
    };
    assert_eq!(
        meta.client.introspect(&removed, now).await.unwrap(),
        dead("revoked")
    );
    meta.controls().advance(Duration::days(60));
    assert_eq!(
        meta.client.introspect(&ending, meta.now()).await.unwrap(),
        dead("expired")
    );
    assert_eq!(meta.controls().calls(NetworkEndpoint::Me), 3);

    let instagram = Meta::start(NetworkKind::Instagram).await;
    assert!(!instagram.client.capabilities().introspection);
    let error = (instagram.client.introspect(&alive, now))
        .await
        .unwrap_err();
    assert_eq!(error.class(), FailureClass::Misconfiguration);
}

async fn facebook_revokes_by_removing_the_apps_permissions() {
    let meta = Meta::start(NetworkKind::Facebook).await;
    assert!(meta.client.capabilities().revocation);
    let (token, _) = meta.issue("4248");
    meta.client.revoke(&token).await.unwrap();
    assert!(!meta.controls().accepts(token.expose()));
    assert_eq!(meta.controls().calls(NetworkEndpoint::Revoke), 1);
    // Revoking it again: the token is dead, and Facebook says so.
    let error = meta.client.revoke(&token).await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");

    let threads = Meta::start(NetworkKind::Threads).await;
    assert!(!threads.client.capabilities().revocation);
    let error = threads.client.revoke(&token).await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Misconfiguration);
}

async fn the_next_renewal_falls_inside_the_window() {
    let meta = Meta::start(NetworkKind::Threads).await;
    // An operator's policy that would ask an hour after issue and an hour before the end.
    let hasty = ExpiryPolicy {
        refresh_after: chrono::Duration::hours(1),
        safety_margin: chrono::Duration::hours(1),
        ..ExpiryPolicy::default()
    };
    let policy = meta.client.expiry_policy(hasty);
    let end = t0() + Duration::days(60);
    assert_eq!(
        policy.next_refresh_due(t0(), end, None),
        t0() + Duration::days(1)
    );
    let late = ExpiryPolicy {
        refresh_after: chrono::Duration::days(90),
        ..hasty
    };
    let due = meta
        .client
        .expiry_policy(late)
        .next_refresh_due(t0(), end, None);
    assert_eq!(due, end - Duration::days(3));
    // The default policy, unchanged: day 50.
    let default = ExpiryPolicy::default();
    assert_eq!(meta.client.expiry_policy(default), default);
}
