//! Which provider an account belongs to. An operator names each provider it configures
//! (`[providers.NAME]`); the name is what every row's `network` column, every URL
//! (`/connect/{provider}`, `?provider=`) and every metric label carries. The kind says which
//! network's rules the provider follows; two providers may share a kind (two Google apps).

use super::{EnumText, InvalidInput};
use std::fmt;
use std::sync::{Arc, LazyLock};
use strum::{Display, IntoStaticStr, VariantArray};

/// The longest provider name: it is a label, a path segment and part of the sealed tokens'
/// associated data, so it stays short.
pub const PROVIDER_NAME_MAX: usize = 32;

/// A configured provider's name: a lowercase identifier, `[a-z][a-z0-9_]*`, at most
/// [`PROVIDER_NAME_MAX`] characters. `linkedin` is the name every row had before there were
/// others, and the default wherever a caller names none.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderName(Arc<str>);

impl ProviderName {
    pub const LINKEDIN: &'static str = "linkedin";

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let mut chars = raw.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !starts_with_letter || !rest_ok || raw.len() > PROVIDER_NAME_MAX {
            return Err(InvalidInput(format!(
                "a provider name is a lowercase letter followed by up to {} lowercase letters, \
                 digits or underscores (got {} characters)",
                PROVIDER_NAME_MAX - 1,
                raw.chars().count()
            )));
        }
        Ok(Self(Arc::from(raw)))
    }

    /// The provider every account had before there were others.
    pub fn linkedin() -> Self {
        Self::linkedin_ref().clone()
    }

    /// The same, borrowed for as long as the program runs.
    pub fn linkedin_ref() -> &'static Self {
        static LINKEDIN: LazyLock<ProviderName> =
            LazyLock::new(|| ProviderName(Arc::from(ProviderName::LINKEDIN)));
        &LINKEDIN
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ProviderName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ProviderName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(|e| serde::de::Error::custom(e.0))
    }
}

/// Whose rules a provider follows: a named network with its endpoints and quirks built in, or
/// a standard server described by configuration (`oidc` by its discovery document, `oauth2` by
/// its endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, VariantArray, Display)]
#[strum(serialize_all = "lowercase")]
pub enum ProviderKind {
    LinkedIn,
    X,
    Google,
    TikTok,
    Instagram,
    Threads,
    Facebook,
    Oidc,
    #[strum(serialize = "oauth2")]
    OAuth2,
}

impl EnumText for ProviderKind {
    const WHAT: &'static str = "provider kind";
}

impl ProviderKind {
    /// The network as people write it, for pages, emails and errors. `oidc` and `oauth2`
    /// providers are named by their configuration instead.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::LinkedIn => "LinkedIn",
            Self::X => "X",
            Self::Google => "Google",
            Self::TikTok => "TikTok",
            Self::Instagram => "Instagram",
            Self::Threads => "Threads",
            Self::Facebook => "Facebook",
            Self::Oidc => "OpenID Connect",
            Self::OAuth2 => "OAuth 2.0",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_identifiers() {
        for good in ["linkedin", "x", "google_workspace", "a1", &"a".repeat(32)] {
            assert_eq!(ProviderName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "LinkedIn",
            "1x",
            "_x",
            "x-y",
            "x y",
            "é",
            &"a".repeat(33),
            "x\0",
        ] {
            assert!(ProviderName::parse(bad).is_err(), "{bad:?} was taken");
        }
        assert_eq!(ProviderName::linkedin().as_str(), "linkedin");
    }

    #[test]
    fn kinds_are_written_as_configuration_names_them() {
        let written: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            written,
            [
                "linkedin",
                "x",
                "google",
                "tiktok",
                "instagram",
                "threads",
                "facebook",
                "oidc",
                "oauth2"
            ]
        );
        assert_eq!(ProviderKind::parse("tiktok"), Ok(ProviderKind::TikTok));
        assert!(ProviderKind::parse("TikTok").is_err());
    }
}
