//! The `[providers.NAME]` sections: one per network an operator connects, beside `[linkedin]`
//! (which stays the provider named `linkedin`). A provider's kind says which keys it takes: the
//! named networks know their endpoints (a key may point one at a test server), `oidc` reads
//! them from its issuer's discovery document, `oauth2` is told them all.
//!
//! Every key is read by serde as the other sections' are; what one key says about another (a
//! key given to a kind it does not apply to, a key a kind requires) is checked after, naming
//! the key, and the defaults that depend on the kind are filled in then, so that
//! `tokenkeeper config` prints what the provider runs with.

use super::error::{invalid, ConfigError};
use super::field::{choice, optional, optional_url, redacted, text, In, Seconds};
use crate::domain::{EnumText, ProviderKind, ProviderName};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;
use strum::{IntoStaticStr, VariantArray};
use url::Url;

/// One `[providers.NAME]` section. The keys that do not apply to the kind are `None` (or
/// empty) and are not printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Required: whose rules the provider follows.
    #[serde(with = "kind")]
    pub kind: ProviderKind,
    /// Required: the app's client id at the network.
    #[serde(default, deserialize_with = "super::field::trimmed")]
    pub client_id: String,
    /// Required, but for the kinds where a public client (no secret, PKCE only) makes sense:
    /// `x`, `oidc`, `oauth2`.
    #[serde(default, deserialize_with = "secret", serialize_with = "redacted")]
    pub client_secret: Option<SecretString>,
    /// Space separated in the configuration; the kind's own when not set.
    #[serde(default, with = "scope_list")]
    pub scopes: Vec<String>,
    /// How pages and emails name the network: the kind's name unless set; required for
    /// `oidc` and `oauth2`, which have none.
    #[serde(default, deserialize_with = "super::field::trimmed")]
    pub display_name: String,
    /// Per call.
    #[serde(
        default = "default_timeout",
        rename = "timeout_seconds",
        with = "In::<Seconds, 1, 300>"
    )]
    pub timeout: Duration,
    /// An access token with less than this left is treated as expired.
    #[serde(
        default = "default_min_validity",
        rename = "min_validity_seconds",
        with = "In::<Seconds, 0, 3600>"
    )]
    pub min_validity: chrono::Duration,
    /// The endpoints: for a named kind, each overrides the network's own (a test points
    /// them at a fake); `oauth2` requires the first two; `oidc` takes none.
    #[serde(
        default,
        with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub authorize_url: Option<Url>,
    #[serde(
        default,
        with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_url: Option<Url>,
    #[serde(
        default,
        with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub revocation_url: Option<Url>,
    #[serde(
        default,
        with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub introspection_url: Option<Url>,
    #[serde(
        default,
        with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub userinfo_url: Option<Url>,
    /// `oidc` only, required: where `/.well-known/openid-configuration` is read.
    #[serde(
        default,
        with = "optional_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub issuer: Option<Url>,
    /// `oidc` (unset: the discovery document's choice) and `oauth2` (default `basic`).
    #[serde(
        default,
        deserialize_with = "client_auth",
        serialize_with = "some_choice",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_auth: Option<ClientAuth>,
    /// `oauth2` only: how the scopes are joined in the authorize URL (default a space).
    #[serde(
        default,
        deserialize_with = "separator",
        skip_serializing_if = "Option::is_none"
    )]
    pub scope_separator: Option<String>,
    /// `oauth2` only: whether the authorize request carries a PKCE challenge (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<bool>,
    /// `oauth2` only: extra parameters of the authorize URL (`prompt = "consent"`). Last, as a
    /// table is printed after the plain keys of its section.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
}

/// How the client proves itself at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum ClientAuth {
    /// HTTP Basic, `client_secret_basic`.
    Basic,
    /// In the form body, `client_secret_post`.
    Post,
}

fn default_timeout() -> Duration {
    Duration::from_secs(20)
}

pub(super) fn default_min_validity() -> chrono::Duration {
    chrono::Duration::seconds(60)
}

/// The scopes a provider asks for when its section names none: what the connect flow needs
/// (who the member is) and what keeps the token refreshable.
fn default_scopes(kind: ProviderKind) -> &'static [&'static str] {
    match kind {
        ProviderKind::LinkedIn => &["openid", "profile", "email", "w_member_social"],
        // offline.access: "If this scope is not passed, we will not generate a refresh token".
        ProviderKind::X => &["tweet.read", "tweet.write", "users.read", "offline.access"],
        ProviderKind::Google => &["openid", "email", "profile"],
        ProviderKind::TikTok => &["user.info.basic", "video.publish"],
        ProviderKind::Instagram => &[
            "instagram_business_basic",
            "instagram_business_content_publish",
        ],
        ProviderKind::Threads => &["threads_basic", "threads_content_publish"],
        ProviderKind::Facebook => &["public_profile", "email"],
        ProviderKind::Oidc => &["openid", "profile", "email", "offline_access"],
        // A server described by its endpoints has no scope in common with others.
        ProviderKind::OAuth2 => &[],
    }
}

impl ProviderSettings {
    /// The client secret; a public client (PKCE only) has none.
    pub fn client_secret(&self) -> Option<&SecretString> {
        self.client_secret.as_ref()
    }

    /// The `[providers.NAME]` keys, as the environment layer types them: every key with a
    /// value of its type. `authorize_params` takes any name (`*`).
    pub(super) fn template() -> Self {
        let url = || Some(Url::parse("https://example.com/").expect("a URL"));
        Self {
            kind: ProviderKind::OAuth2,
            client_id: String::new(),
            client_secret: Some(SecretString::default()),
            scopes: Vec::new(),
            display_name: String::new(),
            timeout: default_timeout(),
            min_validity: default_min_validity(),
            authorize_url: url(),
            token_url: url(),
            revocation_url: url(),
            introspection_url: url(),
            userinfo_url: url(),
            issuer: url(),
            client_auth: Some(ClientAuth::Basic),
            scope_separator: Some(" ".into()),
            pkce: Some(true),
            authorize_params: BTreeMap::from([(super::env::ANY_NAME.into(), String::new())]),
        }
    }

    /// Every key of a `[providers.NAME]` section, whatever its kind.
    pub fn keys() -> Vec<String> {
        let template = toml::Value::try_from(Self::template()).expect("settings serialize");
        let table = template.as_table().expect("a section is a table");
        table.keys().cloned().collect()
    }

    /// What the keys of `[providers.NAME]` say about each other, checked under
    /// `providers.NAME`: no key the kind does not take, every key it requires; then the
    /// defaults of the kind are filled in.
    pub(super) fn check(&mut self, name: &ProviderName) -> Result<(), ConfigError> {
        use ProviderKind::{OAuth2, Oidc};
        let key = |k: &str| format!("providers.{name}.{k}");
        let kind = self.kind;
        let endpoints = [
            ("authorize_url", self.authorize_url.is_some()),
            ("token_url", self.token_url.is_some()),
            ("revocation_url", self.revocation_url.is_some()),
            ("introspection_url", self.introspection_url.is_some()),
            ("userinfo_url", self.userinfo_url.is_some()),
        ];
        if kind == Oidc {
            if let Some((given, _)) = endpoints.iter().find(|(_, set)| *set) {
                return Err(invalid(
                    &key(given),
                    "does not apply to kind = oidc: its endpoints come from the issuer's \
                     discovery document",
                ));
            }
        }
        let only: [(&str, bool, &[ProviderKind], &str); 5] = [
            ("issuer", self.issuer.is_some(), &[Oidc], "oidc"),
            (
                "client_auth",
                self.client_auth.is_some(),
                &[Oidc, OAuth2],
                "oidc or oauth2",
            ),
            (
                "scope_separator",
                self.scope_separator.is_some(),
                &[OAuth2],
                "oauth2",
            ),
            ("pkce", self.pkce.is_some(), &[OAuth2], "oauth2"),
            (
                "authorize_params",
                !self.authorize_params.is_empty(),
                &[OAuth2],
                "oauth2",
            ),
        ];
        for (name, given, kinds, written) in only {
            if given && !kinds.contains(&kind) {
                return Err(invalid(
                    &key(name),
                    format!("applies only to kind = {written}"),
                ));
            }
        }
        let required = |name: &str, what: &str| {
            invalid(
                &key(name),
                format!("required for kind = {}: {what}", kind.as_str()),
            )
        };
        if self.client_id.is_empty() {
            return Err(required("client_id", "the app's client id at the network"));
        }
        if self.client_secret.is_none() && !matches!(kind, ProviderKind::X | Oidc | OAuth2) {
            return Err(required(
                "client_secret",
                "the app's client secret (only x, oidc and oauth2 take a public client)",
            ));
        }
        match kind {
            Oidc if self.issuer.is_none() => {
                return Err(required(
                    "issuer",
                    "the issuer URL, whose /.well-known/openid-configuration names the endpoints",
                ))
            }
            OAuth2 if self.authorize_url.is_none() => {
                return Err(required("authorize_url", "the sign-in page's URL"))
            }
            OAuth2 if self.token_url.is_none() => {
                return Err(required("token_url", "the token endpoint's URL"))
            }
            _ => {}
        }
        if self.display_name.is_empty() {
            if matches!(kind, Oidc | OAuth2) {
                return Err(required(
                    "display_name",
                    "how pages and emails name the network",
                ));
            }
            self.display_name = kind.display_name().to_owned();
        }
        if self.scopes.is_empty() {
            self.scopes = default_scopes(kind).iter().map(|s| s.to_string()).collect();
        }
        if kind == OAuth2 {
            self.client_auth.get_or_insert(ClientAuth::Basic);
            self.scope_separator.get_or_insert_with(|| " ".into());
            self.pkce.get_or_insert(true);
        }
        Ok(())
    }
}

/// The `[providers]` table: each name a provider name, each section checked under its name.
/// `linkedin` is `[linkedin]`'s: given in both places, which one meant what would be a guess.
pub(super) fn check(
    providers: &mut BTreeMap<ProviderName, ProviderSettings>,
) -> Result<(), ConfigError> {
    if providers.contains_key(ProviderName::linkedin_ref()) {
        return Err(invalid(
            "providers.linkedin",
            "the provider named linkedin is configured by the [linkedin] section \
             (TOKENKEEPER_LINKEDIN__*), not by [providers.linkedin]: give its keys there, once",
        ));
    }
    for (name, settings) in providers.iter_mut() {
        settings.check(name)?;
    }
    Ok(())
}

/// The provider names of the `[providers]` table, each checked.
pub(super) mod names {
    use super::ProviderSettings;
    use crate::domain::ProviderName;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};
    use std::collections::BTreeMap;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        table: D,
    ) -> Result<BTreeMap<ProviderName, ProviderSettings>, D::Error> {
        let named = BTreeMap::<String, ProviderSettings>::deserialize(table)?;
        named
            .into_iter()
            .map(|(name, settings)| match ProviderName::parse(&name) {
                Ok(parsed) => Ok((parsed, settings)),
                Err(e) => Err(D::Error::custom(format!("[providers.{name}]: {}", e.0))),
            })
            .collect()
    }
}

mod kind {
    use crate::domain::{EnumText, ProviderKind};
    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(kind: D) -> Result<ProviderKind, D::Error> {
        super::text(kind, |kind| {
            ProviderKind::parse(kind.trim()).map_err(|_| {
                let all: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("{kind:?}: expected one of {}", all.join(", "))
            })
        })
    }

    pub fn serialize<S: Serializer>(kind: &ProviderKind, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(kind.as_str())
    }
}

fn secret<'de, D: Deserializer<'de>>(secret: D) -> Result<Option<SecretString>, D::Error> {
    optional(secret, |secret| Ok(SecretString::from(secret.to_owned())))
}

fn client_auth<'de, D: Deserializer<'de>>(name: D) -> Result<Option<ClientAuth>, D::Error> {
    choice::deserialize(name).map(Some)
}

fn some_choice<S: Serializer>(value: &Option<ClientAuth>, out: S) -> Result<S::Ok, S::Error> {
    let value = value.expect("skipped when not set");
    choice::serialize(&value, out)
}

fn separator<'de, D: Deserializer<'de>>(separator: D) -> Result<Option<String>, D::Error> {
    text(separator, |separator| match separator.is_empty() {
        true => Err("must not be empty: a space, a comma...".into()),
        false => Ok(Some(separator)),
    })
}

/// Scopes, space separated; the empty text leaves the kind's own.
mod scope_list {
    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(scopes: D) -> Result<Vec<String>, D::Error> {
        super::text(scopes, |scopes| {
            Ok(scopes.split_whitespace().map(str::to_owned).collect())
        })
    }

    pub fn serialize<S: Serializer>(scopes: &[String], out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&scopes.join(" "))
    }
}
