//! Assembles the service: storage, the LinkedIn client, the HTTP server on its listeners, and
//! the background tasks (scheduler, mail worker, webhook worker, connect purge).
//! `build` binds the ports (0 picks a free one, as tests do) so callers learn them before serving.

use crate::config::Config;
use crate::connect_link::ConnectLinks;
use crate::domain::Clock;
use crate::http::{self, AppState, SharedState};
use crate::notify::{Delivery, Renderer, Transport};
use crate::provider::Providers;
use crate::readiness::{Readiness, SchedulerProgress, MAIL_WORKER_TASK, SCHEDULER_TASK};
use crate::refresh::RefreshEngine;
use crate::schedule::Schedule;
use crate::scheduler::Scheduler;
use crate::store::{self, Store};
use crate::supervisor::{Supervisor, TaskHealth};
use crate::webhooks::WebhookDelivery;
use anyhow::Context;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

/// How long shutdown waits for the scheduler and the mail worker to stop.
const BACKGROUND_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a background task that died waits before its first restart; the pause doubles
/// with each death, up to a minute.
const FIRST_RESTART_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// The webhook worker's name in `/healthz` and `tokenkeeper_task_restarts_total`.
const WEBHOOK_WORKER_TASK: &str = "webhook worker";

pub struct Application {
    listener: TcpListener,
    /// `/metrics` listens here, apart from the public listener (`http.metrics_bind`).
    metrics_listener: Option<TcpListener>,
    state: AppState,
    engine: RefreshEngine,
    /// `None` when no SMTP server is configured: emails wait in the outbox.
    delivery: Option<Delivery>,
    /// `None` while webhooks are off (`webhooks.url`).
    webhooks: Option<WebhookDelivery>,
    /// How long a background task that died waits before its first restart.
    first_restart_pause: std::time::Duration,
}

impl Application {
    /// Opens (and migrates) the configured database, then builds the service.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // Refused before the database is opened: without a key no token can be read or stored.
        let cipher = config.encryption.cipher()?;
        let store = store::connect_with_webhooks(
            config.database_url.expose(),
            cipher,
            config.webhooks.events(),
        )
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
        let providers =
            Providers::from_config(&config).context("cannot build the HTTP client for LinkedIn")?;
        let links = ConnectLinks::new(
            config.connect.signing_key.clone(),
            public_url.clone(),
            config.connect.allowed_return_origins.clone(),
        );
        let engine = RefreshEngine::new(
            store.clone(),
            providers.clone(),
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
        let webhooks = WebhookDelivery::new(store.clone(), &config.webhooks, clock.clone())
            .context("cannot build the HTTP client for webhooks")?;
        let schedule = if config.schedule.enabled {
            Some(
                Schedule::parse(&config.schedule.cron, config.schedule.timezone)
                    .map_err(anyhow::Error::msg)
                    .context("schedule.cron")?,
            )
        } else {
            None
        };
        let tasks = TaskHealth::default();
        let readiness = Readiness {
            database: crate::readiness::DatabaseCheck::new(store.clone()),
            clock: clock.clone(),
            tasks: tasks.clone(),
            scheduler: schedule.map(|s| (s, SchedulerProgress::default())),
            mail_worker: delivery.is_some(),
        };
        let importer = crate::import::Importer {
            store: store.clone(),
            lookups: crate::import::TokenLookups {
                providers: providers.clone(),
                pacing: engine.pacing(),
                settings: config.refresh.clone(),
            },
            notify: config.notify.clone(),
            clock: clock.clone(),
        };
        // Secure cookies need https end to end, which the public URL says.
        let dashboard = config.admin.enabled().then(|| {
            let mut dashboard = http::Dashboard::new(public_url.scheme() == "https");
            dashboard.success = Some(Arc::new(http::ReportFigures {
                store: store.clone(),
            }));
            Arc::new(dashboard)
        });
        let state = AppState::new(SharedState {
            importer,
            dashboard,
            config: Arc::new(config),
            token_reads: crate::token_reads::TokenReads::start(Arc::new(store.clone())),
            store,
            providers,
            engine: engine.clone(),
            links,
            clock,
            public_url,
            metrics: crate::telemetry::metrics_handle(),
            tasks,
            readiness,
            success_report: crate::report::LatestReport::default(),
        });
        Ok(Self {
            listener,
            metrics_listener,
            state,
            engine,
            delivery,
            webhooks,
            first_restart_pause: FIRST_RESTART_PAUSE,
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

    /// The webhook worker, while webhooks are on.
    pub fn webhooks(&self) -> Option<&WebhookDelivery> {
        self.webhooks.as_ref()
    }

    /// Which background tasks are down, waiting to be restarted (what `/healthz` reports).
    pub fn task_health(&self) -> TaskHealth {
        self.state.tasks.clone()
    }

    /// Changes how long a background task that died waits before its first restart.
    pub fn set_first_restart_pause(&mut self, pause: std::time::Duration) {
        self.first_restart_pause = pause;
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
        self.state.make_mut().readiness.mail_worker = true;
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
        crate::telemetry::show_alerting_series();
        let background = CancellationToken::new();
        let sweeps = self.engine.runs_finished();
        let mut supervisor = Supervisor::new(
            background.clone(),
            self.state.tasks.clone(),
            self.first_restart_pause,
        );
        if let Some((schedule, progress)) = self.state.readiness.scheduler.clone() {
            let engine = self.engine.clone().with_shutdown(background.clone());
            let (store, clock) = (self.state.store.clone(), self.state.clock.clone());
            let (tick, shutdown) = (config.schedule.poll, background.clone());
            // A restarted scheduler catches up the latest slot no instance has run.
            supervisor.watch(SCHEDULER_TASK, move || {
                Scheduler {
                    schedule: schedule.clone(),
                    engine: engine.clone(),
                    store: store.clone(),
                    clock: clock.clone(),
                    tick,
                    shutdown: shutdown.clone(),
                    progress: progress.clone(),
                }
                .run()
            });
        }
        match self.delivery {
            Some(delivery) => {
                let stop = background.clone();
                // Dropped between or during sends: an email cut short is sent again at the
                // next start (or restart), with the same Message-ID.
                supervisor.watch(MAIL_WORKER_TASK, move || {
                    let (delivery, stop) = (delivery.clone(), stop.clone());
                    async move {
                        tokio::select! {
                            () = delivery.run() => {}
                            () = stop.cancelled() => {}
                        }
                    }
                });
            }
            None => {
                tracing::warn!(
                    "no SMTP server configured (smtp.host): reconnect emails wait in the outbox"
                );
            }
        }
        if let Some(webhooks) = self.webhooks {
            let stop = background.clone();
            // Dropped between or during posts: an event cut short is posted again, with the
            // same webhook-id, once its claim lapses.
            supervisor.watch(WEBHOOK_WORKER_TASK, move || {
                let (webhooks, stop) = (webhooks.clone(), stop.clone());
                async move {
                    tokio::select! {
                        () = webhooks.run() => {}
                        () = stop.cancelled() => {}
                    }
                }
            });
        }
        {
            let (store, clock) = (self.state.store.clone(), self.state.clock.clone());
            let every = config.connect.purge_interval;
            let stop = background.clone();
            supervisor.watch("connect purge", move || {
                let purge = crate::connect_purge::ConnectPurger {
                    store: store.clone(),
                    clock: clock.clone(),
                    every,
                };
                let stop = stop.clone();
                async move {
                    tokio::select! {
                        () = purge.run() => {}
                        () = stop.cancelled() => {}
                    }
                }
            });
        }
        {
            let (store, clock) = (self.state.store.clone(), self.state.clock.clone());
            let latest = self.state.success_report.clone();
            let stop = background.clone();
            supervisor.watch("success report", move || {
                let gauges = crate::report::ReportGauges {
                    store: store.clone(),
                    clock: clock.clone(),
                    every: crate::report::GAUGE_REFRESH,
                    sweeps: sweeps.clone(),
                    latest: latest.clone(),
                };
                let stop = stop.clone();
                async move {
                    tokio::select! {
                        () = gauges.run() => {}
                        () = stop.cancelled() => {}
                    }
                }
            });
        }
        let listeners = http::Listeners {
            public: self.listener,
            metrics: self.metrics_listener,
        };
        // Not restarted here: a listener that failed is better restarted with the whole
        // process by the service manager, so `serve` exits non-zero.
        let served = http::serve(listeners, self.state, shutdown)
            .await
            .context("the HTTP server failed");
        if let Err(e) = &served {
            tracing::error!(error = %format!("{e:#}"), "the HTTP server failed; stopping");
        }
        // A running sweep abandons its calls, releases its claims and records its run as
        // interrupted; the wait is bounded so that a stuck database cannot hold shutdown.
        // Refreshes on demand whose callers are gone (the server closed their connections)
        // write what LinkedIn answers: at most one call each, bounded by its time-out.
        let demands_grace = config.linkedin.timeout + BACKGROUND_STOP_GRACE;
        tokio::join!(
            supervisor.stop(BACKGROUND_STOP_GRACE),
            self.engine.drain_demands(demands_grace),
        );
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
