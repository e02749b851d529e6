//! Assembles the service: storage, the LinkedIn client and the HTTP server, on one listener.
//! `build` binds the port (0 picks a free one, as tests do) so callers learn it before serving.

use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::Clock;
use crate::http::{self, AppState};
use crate::linkedin::LinkedInClient;
use crate::notify::{Delivery, Renderer, Transport};
use crate::refresh::RefreshEngine;
use crate::schedule::{Schedule, Scheduler};
use crate::store::{self, Store};
use anyhow::Context;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use url::Url;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    engine: RefreshEngine,
    /// `None` when no SMTP server is configured: emails wait in the outbox.
    delivery: Option<Delivery>,
}

impl Application {
    /// Opens (and migrates) the configured database, then builds the service.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = store::connect(&config.database_url)
            .await
            .with_context(|| "cannot open the database named by database_url")?;
        store
            .migrate()
            .await
            .context("cannot apply the database migrations")?;
        Self::build_with_store(config, store, clock).await
    }

    pub async fn build_with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.http.bind)
            .await
            .with_context(|| format!("cannot listen on {} (http.bind)", config.http.bind))?;
        let local = listener.local_addr()?;
        let public_url = match &config.http.public_url {
            Some(url) => url.clone(),
            None => Url::parse(&format!("http://{local}/")).expect("an address makes a URL"),
        };
        let linkedin = LinkedInClient::new(config.linkedin.clone())
            .context("cannot build the HTTP client for LinkedIn")?;
        let links = ConnectLinks::new(
            config.connect.signing_key.clone(),
            public_url.clone(),
            config.connect.allowed_return_origins.clone(),
        );
        let engine = RefreshEngine::new(
            store.clone(),
            linkedin.clone(),
            clock.clone(),
            config.refresh.clone(),
            config.notify.clone(),
        );
        let renderer = Renderer::new(&config.email).context("cannot read the email templates")?;
        let delivery = Transport::smtp(&config.smtp)
            .context("invalid SMTP settings")?
            .map(|transport| Delivery {
                store: store.clone(),
                transport,
                renderer,
                links: links.clone(),
                clock: clock.clone(),
                smtp: config.smtp.clone(),
            });
        let state = AppState {
            config: Arc::new(config),
            store,
            linkedin,
            links,
            clock,
            public_url,
            metrics: crate::telemetry::metrics_handle(),
        };
        Ok(Self {
            listener,
            state,
            engine,
            delivery,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
            .port()
    }

    pub fn public_url(&self) -> &Url {
        &self.state.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn engine(&self) -> &RefreshEngine {
        &self.engine
    }

    /// The mail worker, if it has a transport.
    pub fn delivery(&self) -> Option<&Delivery> {
        self.delivery.as_ref()
    }

    /// Sends email through `transport` instead of the configured SMTP server.
    pub fn set_mail_transport(&mut self, transport: Transport) -> anyhow::Result<()> {
        let config = &self.state.config;
        self.delivery = Some(Delivery {
            store: self.state.store.clone(),
            transport,
            renderer: Renderer::new(&config.email).context("cannot read the email templates")?,
            links: self.state.links.clone(),
            clock: self.state.clock.clone(),
            smtp: config.smtp.clone(),
        });
        Ok(())
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.listener.local_addr()?, public_url = %self.state.public_url, "serving");
        let config = self.state.config.clone();
        let scheduler = if config.schedule.enabled {
            let schedule = Schedule::parse(&config.schedule.cron, config.schedule.timezone)
                .map_err(anyhow::Error::msg)
                .context("schedule.cron")?;
            let scheduler = Scheduler {
                schedule,
                engine: self.engine,
                store: self.state.store.clone(),
                clock: self.state.clock.clone(),
                tick: config.schedule.poll,
            };
            Some(tokio::spawn(scheduler.run()))
        } else {
            None
        };
        let mailer = match self.delivery {
            Some(delivery) => Some(tokio::spawn(delivery.run())),
            None => {
                tracing::warn!(
                    "no SMTP server configured (smtp.host): reconnect emails wait in the outbox"
                );
                None
            }
        };
        let purger = tokio::spawn(
            crate::connect_purge::ConnectPurger {
                store: self.state.store.clone(),
                clock: self.state.clock.clone(),
                every: config.connect.purge_interval,
            }
            .run(),
        );
        let served = axum::serve(self.listener, http::router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed");
        // A sweep cut short here leaves its claims to expire with their lease; the accounts
        // are picked up by the next slot.
        if let Some(scheduler) = scheduler {
            scheduler.abort();
        }
        purger.abort();
        // An email cut short is sent again at the next start, with the same Message-ID.
        if let Some(mailer) = mailer {
            mailer.abort();
        }
        served
    }
}

/// Completes on Ctrl-C or SIGTERM, so `serve` stops cleanly under a terminal or a supervisor.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
