//! How a reconnect email names the member's network. The names come from the providers the
//! service runs with (`Provider::display_name`), read once when the mail worker is built, so
//! an email to an X member says "X" and one to a LinkedIn member says "LinkedIn".

use crate::domain::{ProviderKind, ProviderName};
use crate::provider::Providers;
use std::collections::BTreeMap;

/// A network as an email names it, and whose rules it follows (which decides the sentences
/// that state a network's own facts, such as LinkedIn's two-month confirmation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Network {
    pub name: String,
    pub kind: ProviderKind,
}

/// Each configured provider's network, by provider name.
#[derive(Debug, Clone)]
pub struct NetworkNames {
    by_provider: BTreeMap<ProviderName, Network>,
}

impl Default for NetworkNames {
    /// LinkedIn alone: what every account had before there were other providers.
    fn default() -> Self {
        let linkedin = Network {
            name: ProviderKind::LinkedIn.display_name().to_owned(),
            kind: ProviderKind::LinkedIn,
        };
        Self {
            by_provider: BTreeMap::from([(ProviderName::linkedin(), linkedin)]),
        }
    }
}

impl NetworkNames {
    /// The names `providers` give their networks.
    pub fn of(providers: &Providers) -> Self {
        Self::from_names(providers.iter().map(|(name, provider)| {
            (
                name.clone(),
                provider.display_name().to_owned(),
                provider.kind(),
            )
        }))
    }

    /// Names given outright, beside LinkedIn's: (provider, display name, kind).
    pub fn from_names(
        names: impl IntoIterator<Item = (ProviderName, String, ProviderKind)>,
    ) -> Self {
        let mut built = Self::default();
        for (provider, name, kind) in names {
            built.by_provider.insert(provider, Network { name, kind });
        }
        built
    }

    /// The network of `provider`. A row may name a provider the configuration no longer has
    /// (its worker then cannot refresh it either): the email names it as the row does, with
    /// no network's particular facts, rather than not being sent.
    pub(super) fn of_provider(&self, provider: &ProviderName) -> Network {
        self.by_provider
            .get(provider)
            .cloned()
            .unwrap_or_else(|| Network {
                name: provider.as_str().to_owned(),
                kind: ProviderKind::OAuth2,
            })
    }
}
