//! The providers a configuration names, built: `[linkedin]` as the provider `linkedin`, each
//! `[providers.NAME]` by its kind. The configuration has checked every key already; what is
//! decided here is only which module serves a kind and where a key overrides its defaults.

use super::meta::{MetaClient, MetaEndpoints, MetaSettings};
use super::oauth2::{ClientAuth, OAuth2Client, OAuth2Settings, Standard};
use super::{google, linkedin, oidc, tiktok, x, Failure, Pkce, Provider, ProviderError, Providers};
use crate::config::{self, Config, ProviderSettings};
use crate::domain::{ProviderKind, ProviderName};
use std::sync::Arc;
use url::Url;

pub(super) fn build(config: &Config) -> Result<Providers, ProviderError> {
    let linkedin: Arc<dyn Provider> =
        Arc::new(linkedin::LinkedInClient::new(config.linkedin.clone())?);
    let mut built = vec![(linkedin, config.linkedin.as_provider().min_validity)];
    for (name, settings) in &config.providers {
        built.push((provider(name, settings, config)?, settings.min_validity));
    }
    Ok(Providers::new(built))
}

fn provider(
    name: &ProviderName,
    settings: &ProviderSettings,
    config: &Config,
) -> Result<Arc<dyn Provider>, ProviderError> {
    let secret = settings.client_secret().cloned();
    Ok(match settings.kind {
        ProviderKind::LinkedIn => {
            let mut linkedin = config.linkedin.clone();
            linkedin.client_id = settings.client_id.clone();
            linkedin.client_secret = secret.unwrap_or_default();
            linkedin.scope = settings.scopes.join(" ");
            linkedin.timeout = settings.timeout;
            override_url(&mut linkedin.authorize_url, &settings.authorize_url);
            override_url(&mut linkedin.token_url, &settings.token_url);
            override_url(&mut linkedin.introspect_url, &settings.introspection_url);
            override_url(&mut linkedin.userinfo_url, &settings.userinfo_url);
            Arc::new(linkedin::LinkedInClient::new(linkedin)?.named(name.clone()))
        }
        ProviderKind::X => Arc::new(x::client(oauth2_overrides(
            x::settings(name.clone(), &settings.client_id, secret),
            settings,
        ))?),
        ProviderKind::Google => Arc::new(google::client(oauth2_overrides(
            google::settings(
                name.clone(),
                &settings.client_id,
                secret.unwrap_or_default(),
            ),
            settings,
        ))?),
        ProviderKind::TikTok => Arc::new(tiktok::client(oauth2_overrides(
            tiktok::settings(
                name.clone(),
                &settings.client_id,
                secret.unwrap_or_default(),
            ),
            settings,
        ))?),
        ProviderKind::Instagram | ProviderKind::Threads | ProviderKind::Facebook => {
            let mut meta = MetaSettings::new(
                name.clone(),
                settings.kind,
                &settings.client_id,
                secret.unwrap_or_default(),
            )
            .expect("a Meta kind");
            // The Graph endpoints are many; one URL moves them all (a test server, a
            // proxy): the token URL's origin. The consent page may move on its own.
            if let Some(token_url) = &settings.token_url {
                let base = Url::parse(&token_url.origin().ascii_serialization())
                    .map_err(|e| misconfigured(name, e.to_string()))?;
                meta.endpoints = MetaEndpoints::on(settings.kind, &base).expect("a Meta kind");
            }
            override_url(&mut meta.endpoints.authorize, &settings.authorize_url);
            meta.display_name = settings.display_name.clone();
            meta.scopes = settings.scopes.clone();
            meta.timeout = settings.timeout;
            Arc::new(MetaClient::new(meta)?)
        }
        ProviderKind::OAuth2 => {
            let (Some(authorize), Some(token)) = (&settings.authorize_url, &settings.token_url)
            else {
                return Err(misconfigured(
                    name,
                    "oauth2 needs authorize_url and token_url".into(),
                ));
            };
            let mut oauth2 = OAuth2Settings::standard(
                name.clone(),
                ProviderKind::OAuth2,
                &settings.client_id,
                secret,
                authorize.clone(),
                token.clone(),
            );
            if let Some(separator) = &settings.scope_separator {
                oauth2.scope_separator = separator.clone();
            }
            if let Some(pkce) = settings.pkce {
                oauth2.pkce = if pkce { Pkce::Required } else { Pkce::Off };
            }
            oauth2.authorize_params = settings
                .authorize_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Arc::new(OAuth2Client::new(
                oauth2_overrides(oauth2, settings),
                Standard,
            )?)
        }
        ProviderKind::Oidc => Arc::new(oidc::OidcClient::new(name.clone(), settings.clone())?),
    })
}

/// What every `[providers.NAME]` of an RFC 6749 kind may change of its kind's defaults.
fn oauth2_overrides(mut oauth2: OAuth2Settings, settings: &ProviderSettings) -> OAuth2Settings {
    override_url(&mut oauth2.authorize_url, &settings.authorize_url);
    override_url(&mut oauth2.token_url, &settings.token_url);
    for (url, configured) in [
        (&mut oauth2.revocation_url, &settings.revocation_url),
        (&mut oauth2.introspection_url, &settings.introspection_url),
        (&mut oauth2.userinfo_url, &settings.userinfo_url),
    ] {
        if configured.is_some() {
            url.clone_from(configured);
        }
    }
    if let Some(auth) = settings.client_auth {
        oauth2.client_auth = match auth {
            config::ClientAuth::Basic => ClientAuth::Basic,
            config::ClientAuth::Post => ClientAuth::Post,
        };
    }
    if !settings.scopes.is_empty() {
        oauth2.scopes.clone_from(&settings.scopes);
    }
    oauth2.display_name.clone_from(&settings.display_name);
    oauth2.timeout = settings.timeout;
    oauth2
}

fn override_url(url: &mut Url, configured: &Option<Url>) {
    if let Some(configured) = configured {
        url.clone_from(configured);
    }
}

fn misconfigured(name: &ProviderName, detail: String) -> ProviderError {
    ProviderError::new(
        name.as_str(),
        Failure::Malformed(format!("providers.{name}: {detail}")),
    )
}
