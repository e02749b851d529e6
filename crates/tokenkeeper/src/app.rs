//! Assembles the service: storage, the LinkedIn client and the HTTP server, on its listeners.
//! `build` binds the ports (0 picks a free one, as tests do) so callers learn them before serving.

use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::Clock;
use crate::http::{self, AppState};
use crate::linkedin::LinkedInClient;
use crate::notify::{Delivery, Renderer, Transport};
use crate::refresh::RefreshEngine;
use crate::schedule::Schedule;
use crate::scheduler::Scheduler;
use crate::store::{self, Store};
use anyhow::Context;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

/// How long shutdown waits for the scheduler and the mail worker to stop.
const BACKGROUND_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    /// `/metrics` listens here, apart from the public listener (`http.metrics_bind`).
    metrics_listener: Option<TcpListener>,
    state: AppState,
    engine: RefreshEngine,
    /// `None` when no SMTP server is configured: emails wait in the outbox.
    delivery: Option<Delivery>,
}

impl Application {
    /// Opens (and migrates) the configured database, then builds the service.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = store::connect(config.database_url.expose())
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
        let metrics_listener = match config.http.metrics_bind {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on {address} (http.metrics_bind)"))?,
            ),
            None => None,
        };
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
            metrics_listener,
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

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_address(&self) -> Option<std::net::SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
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

    /// Serves until `shutdown` completes, then gives the requests in flight
    /// `http.shutdown_grace_seconds` to finish and closes every connection left.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.listener.local_addr()?, public_url = %self.state.public_url, metrics = ?self.metrics_address(), "serving");
        let config = self.state.config.clone();
        let background = CancellationToken::new();
        let scheduler = if config.schedule.enabled {
            let schedule = Schedule::parse(&config.schedule.cron, config.schedule.timezone)
                .map_err(anyhow::Error::msg)
                .context("schedule.cron")?;
            let scheduler = Scheduler {
                schedule,
                engine: self.engine.with_shutdown(background.clone()),
                store: self.state.store.clone(),
                clock: self.state.clock.clone(),
                tick: config.schedule.poll,
                shutdown: background.clone(),
            };
            Some(tokio::spawn(scheduler.run()))
        } else {
            None
        };
        let mailer = match self.delivery {
            Some(delivery) => {
                let stop = background.clone();
                // Dropped between or during sends: an email cut short is sent again at the
                // next start, with the same Message-ID.
                Some(tokio::spawn(async move {
                    tokio::select! {
                        () = delivery.run() => {}
                        () = stop.cancelled() => {}
                    }
                }))
            }
            None => {
                tracing::warn!(
                    "no SMTP server configured (smtp.host): reconnect emails wait in the outbox"
                );
                None
            }
        };
        let purger = {
            let purge = crate::connect_purge::ConnectPurger {
                store: self.state.store.clone(),
                clock: self.state.clock.clone(),
                every: config.connect.purge_interval,
            };
            let stop = background.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = purge.run() => {}
                    () = stop.cancelled() => {}
                }
            })
        };
        let listeners = http::Listeners {
            public: self.listener,
            metrics: self.metrics_listener,
        };
        let served = http::serve(listeners, self.state, shutdown)
            .await
            .context("the HTTP server failed");
        // A running sweep abandons its calls, releases its claims and records its run as
        // interrupted; the wait is bounded so that a stuck database cannot hold shutdown.
        background.cancel();
        let stop_by = tokio::time::Instant::now() + BACKGROUND_STOP_GRACE;
        for (name, task) in [
            ("scheduler", scheduler),
            ("mail worker", mailer),
            ("connect purge", Some(purger)),
        ] {
            let Some(mut task) = task else { continue };
            // One deadline for all of them: they stop at the same time, not one after another.
            match tokio::time::timeout_at(stop_by, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(task = name, error = %e, "background task failed"),
                Err(_) => {
                    tracing::warn!(task = name, "background task did not stop in time");
                    task.abort();
                }
            }
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
