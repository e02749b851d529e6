//! A Meta provider's settings, as the configuration hands them over: which network, our app's
//! credentials, the endpoints (the real networks' by default; a test or a staging setup
//! points them elsewhere), the permissions to ask for and the longest a call may take.

use super::network::MetaNetwork;
use crate::domain::{ProviderKind, ProviderName};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

#[derive(Clone)]
pub struct MetaSettings {
    pub name: ProviderName,
    /// Instagram, Threads or Facebook; `MetaClient::new` refuses any other.
    pub kind: ProviderKind,
    /// The network as people write it ("Instagram"), in pages, emails and error texts.
    pub display_name: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub endpoints: MetaEndpoints,
    /// Permissions asked for on the consent page, sent comma-separated.
    pub scopes: Vec<String>,
    pub timeout: Duration,
}

impl MetaSettings {
    /// The network's defaults: its real endpoints, its basic permission, a 30-second
    /// timeout. `None` for a kind that is not one of Meta's.
    pub fn new(
        name: ProviderName,
        kind: ProviderKind,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Option<Self> {
        let network = MetaNetwork::of(kind)?;
        Some(Self {
            name,
            kind,
            display_name: kind.display_name().to_owned(),
            client_id: client_id.into(),
            client_secret,
            endpoints: MetaEndpoints::of(kind)?,
            scopes: network
                .default_scopes()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            timeout: Duration::from_secs(30),
        })
    }
}

impl std::fmt::Debug for MetaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaSettings")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("endpoints", &self.endpoints)
            .field("scopes", &self.scopes)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Where each call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaEndpoints {
    /// The consent page.
    pub authorize: Url,
    /// The code exchange (Instagram and Threads: a POST form; Facebook: a GET).
    pub token: Url,
    /// The short-lived to long-lived exchange (Facebook's is its token URL).
    pub exchange: Url,
    /// The long-lived token's renewal (Facebook's is its token URL).
    pub refresh: Url,
    /// Who holds a token.
    pub me: Url,
    /// Facebook's `debug_token`; the others have no introspection.
    pub debug_token: Option<Url>,
    /// Facebook's `DELETE /me/permissions`, which removes the app for the member; the others
    /// have no revocation.
    pub revoke: Option<Url>,
}

/// The paths of each call, as Meta documents them (the hosts differ by call).
struct Layout {
    authorize: &'static str,
    token: &'static str,
    exchange: &'static str,
    refresh: &'static str,
    me: &'static str,
    debug_token: Option<&'static str>,
    revoke: Option<&'static str>,
}

fn layout(network: MetaNetwork) -> Layout {
    match network {
        MetaNetwork::Instagram => Layout {
            authorize: "/oauth/authorize",
            token: "/oauth/access_token",
            exchange: "/access_token",
            refresh: "/refresh_access_token",
            me: "/v21.0/me",
            debug_token: None,
            revoke: None,
        },
        MetaNetwork::Threads => Layout {
            authorize: "/oauth/authorize",
            token: "/oauth/access_token",
            exchange: "/access_token",
            refresh: "/refresh_access_token",
            me: "/v1.0/me",
            debug_token: None,
            revoke: None,
        },
        MetaNetwork::Facebook => Layout {
            authorize: "/v22.0/dialog/oauth",
            token: "/v22.0/oauth/access_token",
            exchange: "/v22.0/oauth/access_token",
            refresh: "/v22.0/oauth/access_token",
            me: "/v22.0/me",
            debug_token: Some("/v22.0/debug_token"),
            revoke: Some("/v22.0/me/permissions"),
        },
    }
}

impl MetaEndpoints {
    /// The real network's endpoints. `None` for a kind that is not one of Meta's.
    pub fn of(kind: ProviderKind) -> Option<Self> {
        let network = MetaNetwork::of(kind)?;
        let (consent, token, graph) = match network {
            MetaNetwork::Instagram => (
                "https://www.instagram.com",
                "https://api.instagram.com",
                "https://graph.instagram.com",
            ),
            MetaNetwork::Threads => (
                "https://threads.net",
                "https://graph.threads.net",
                "https://graph.threads.net",
            ),
            MetaNetwork::Facebook => (
                "https://www.facebook.com",
                "https://graph.facebook.com",
                "https://graph.facebook.com",
            ),
        };
        let at = |host: &str, path: &str| Url::parse(&format!("{host}{path}")).expect("a URL");
        let l = layout(network);
        Some(Self {
            authorize: at(consent, l.authorize),
            token: at(token, l.token),
            exchange: at(graph, l.exchange),
            refresh: at(graph, l.refresh),
            me: at(graph, l.me),
            debug_token: l.debug_token.map(|p| at(graph, p)),
            revoke: l.revoke.map(|p| at(graph, p)),
        })
    }

    /// Every endpoint on one base URL, with the real paths: how a fake of the network (or a
    /// proxy in front of all its hosts) serves them. `None` for a kind that is not Meta's.
    pub fn on(kind: ProviderKind, base: &Url) -> Option<Self> {
        let l = layout(MetaNetwork::of(kind)?);
        let at = |path: &str| {
            let mut url = base.clone();
            url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
            url
        };
        Some(Self {
            authorize: at(l.authorize),
            token: at(l.token),
            exchange: at(l.exchange),
            refresh: at(l.refresh),
            me: at(l.me),
            debug_token: l.debug_token.map(at),
            revoke: l.revoke.map(at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_endpoints_are_the_documented_ones() {
        let ig = MetaEndpoints::of(ProviderKind::Instagram).unwrap();
        assert_eq!(
            ig.token.as_str(),
            "https://api.instagram.com/oauth/access_token"
        );
        assert_eq!(
            ig.refresh.as_str(),
            "https://graph.instagram.com/refresh_access_token"
        );
        let fb = MetaEndpoints::of(ProviderKind::Facebook).unwrap();
        assert_eq!(
            fb.debug_token.unwrap().as_str(),
            "https://graph.facebook.com/v22.0/debug_token"
        );
        assert_eq!(fb.exchange, fb.token);
        assert!(MetaEndpoints::of(ProviderKind::LinkedIn).is_none());
    }

    #[test]
    fn on_one_base_every_path_is_kept() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let th = MetaEndpoints::on(ProviderKind::Threads, &base).unwrap();
        assert_eq!(th.me.as_str(), "http://127.0.0.1:9/v1.0/me");
        assert_eq!(th.exchange.as_str(), "http://127.0.0.1:9/access_token");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let settings = MetaSettings::new(
            ProviderName::parse("ig").unwrap(),
            ProviderKind::Instagram,
            "id",
            SecretString::from("app-secret-value"),
        )
        .unwrap();
        assert!(!format!("{settings:?}").contains("app-secret-value"));
        assert_eq!(settings.scopes, ["instagram_business_basic"]);
    }
}
