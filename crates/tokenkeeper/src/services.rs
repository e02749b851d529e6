//! The composition root: the store opened and migrated once, and the parts built on it (the
//! refresh engine with its housekeeping, the importer, the email and webhook outbox workers).
//! `serve` and every command that reads or writes tokens take what they need from here; each
//! part holds only the storage traits it uses, to which the one `Arc<dyn Store>` coerces.
//!
//! `migrate`, `report` and `doctor` open the database bare instead (`store::BareDatabase`):
//! they need no encryption key, and `report` and `doctor` change nothing, not even the schema.

use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::{Clock, SystemClock};
use crate::import::{Importer, TokenLookups};
use crate::notify::{Delivery, NetworkNames, Renderer, Transport};
use crate::provider::Providers;
use crate::refresh::{EngineStores, RefreshEngine};
use crate::store::{self, Store};
use crate::webhooks::WebhookDelivery;
use crate::workers::Housekeeping;
use anyhow::Context;
use std::sync::Arc;
use url::Url;

#[derive(Clone)]
pub struct Services {
    /// The whole store, for the composition root alone: everything else is handed the traits
    /// it uses.
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Each network's provider (LinkedIn's, today).
    pub providers: Providers,
    /// Signs the connect links of reconnect emails and of the API.
    pub links: ConnectLinks,
    pub engine: RefreshEngine,
    /// Paced with the engine's calls to LinkedIn.
    pub importer: Importer,
}

impl Services {
    /// Opens and migrates the configured database, then builds on it, with the system clock
    /// and the public URL the configuration gives.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let store = Self::open_store(config).await?;
        Self::with_store(
            Arc::new(config.clone()),
            store,
            Arc::new(SystemClock),
            config.public_base_url(),
        )
    }

    /// The store of `database_url`, migrated. It refuses to start without a key, before the
    /// database is opened: without one no token can be read or stored.
    pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
        let cipher = config.encryption.cipher()?;
        let store = store::connect_with_webhooks(
            config.database_url.expose(),
            cipher,
            config.webhooks.events(),
        )
        .await
        .context("cannot open the database named by database_url")?;
        store
            .migrate()
            .await
            .context("cannot apply the database migrations")?;
        Ok(store)
    }

    /// Builds on a store already open (and migrated); `public_url` is where users' browsers
    /// reach the service, which connect links point at.
    pub fn with_store(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        public_url: Url,
    ) -> anyhow::Result<Self> {
        let providers =
            Providers::from_config(&config).context("cannot build the HTTP client for LinkedIn")?;
        let links = ConnectLinks::new(
            config.connect.signing_key.clone(),
            public_url,
            config.connect.allowed_return_origins.clone(),
        );
        let engine = RefreshEngine::new(
            EngineStores::of(&store),
            providers.clone(),
            clock.clone(),
            config.refresh.clone(),
            config.notify.clone(),
            Housekeeping::for_providers(&store, &config, Some(&providers)),
        );
        let importer = Importer {
            store: store.clone(),
            lookups: TokenLookups {
                providers: providers.clone(),
                pacing: engine.pacing(),
                settings: config.refresh.clone(),
            },
            notify: config.notify.clone(),
            clock: clock.clone(),
        };
        Ok(Self {
            store,
            config,
            clock,
            providers,
            links,
            engine,
            importer,
        })
    }

    /// The email worker, sending through `transport`.
    pub fn mail(&self, transport: Transport) -> anyhow::Result<Delivery> {
        let renderer =
            Renderer::new(&self.config.email).context("cannot read the email templates")?;
        Ok(self.mail_with(transport, renderer))
    }

    /// The email worker for the configured SMTP server; `None` when none is configured. The
    /// templates are read either way, so a broken one is found at start.
    pub fn smtp_mail(&self) -> anyhow::Result<Option<Delivery>> {
        let renderer =
            Renderer::new(&self.config.email).context("cannot read the email templates")?;
        let transport = Transport::smtp(&self.config.smtp).context("invalid SMTP settings")?;
        Ok(transport.map(|transport| self.mail_with(transport, renderer)))
    }

    /// Emails name each account's network as the configured providers do.
    fn mail_with(&self, transport: Transport, renderer: Renderer) -> Delivery {
        Delivery {
            store: self.store.clone(),
            transport,
            renderer: renderer.naming(NetworkNames::of(&self.providers)),
            links: self.links.clone(),
            clock: self.clock.clone(),
            smtp: self.config.smtp.clone(),
        }
    }

    /// The webhook worker; `None` while webhooks are off (`webhooks.url`).
    pub fn webhooks(&self) -> anyhow::Result<Option<WebhookDelivery>> {
        WebhookDelivery::new(
            self.store.clone(),
            &self.config.webhooks,
            self.clock.clone(),
        )
        .context("cannot build the HTTP client for webhooks")
    }
}
