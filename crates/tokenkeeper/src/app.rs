//! Assembles the service: storage, the LinkedIn client, the HTTP server on its listeners, and
//! the background tasks of `workers/` (scheduler, mail worker, webhook worker, connect purge,
//! success report gauges, rate limit cleaner).
//! `build` binds the ports (0 picks a free one, as tests do) so callers learn them before serving.

use crate::config::Config;
use crate::domain::Clock;
use crate::domain::Schedule;
use crate::http::{self, AppState, SharedState};
use crate::notify::{Delivery, Transport};
use crate::readiness::{Readiness, MAIL_WORKER_TASK, SCHEDULER_TASK};
use crate::refresh::RefreshEngine;
use crate::services::Services;
use crate::store::{AccountStore, Store};
use crate::webhooks::WebhookDelivery;
use crate::workers::{
    ConnectPurger, RateLimitCleaner, ReportGauges, Scheduler, SchedulerProgress, Supervisor,
    TaskHealth,
};
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

/// The name of the task that keeps the public rate limiter small.
const RATE_LIMIT_CLEANER_TASK: &str = "rate limit cleaner";

pub struct Application {
    listener: TcpListener,
    /// `/metrics` listens here, apart from the public listener (`http.metrics_bind`).
    metrics_listener: Option<TcpListener>,
    state: AppState,
    services: Services,
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
        let store = Services::open_store(&config).await?;
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
        let config = Arc::new(config);
        let services = Services::with_store(config.clone(), store, clock, public_url.clone())?;
        let delivery = services.smtp_mail()?;
        let webhooks = services.webhooks()?;
        let schedule = if config.schedule.enabled {
            Some(
                Schedule::parse(&config.schedule.cron, config.schedule.timezone)
                    .map_err(anyhow::Error::msg)
                    .context("schedule.cron")?,
            )
        } else {
            None
        };
        let store = &services.store;
        let tasks = TaskHealth::default();
        let readiness = Readiness {
            database: crate::readiness::DatabaseCheck::new(store.clone()),
            clock: services.clock.clone(),
            tasks: tasks.clone(),
            scheduler: schedule.map(|s| (s, SchedulerProgress::default())),
            mail_worker: delivery.is_some(),
        };
        // Secure cookies need https end to end, which the public URL says.
        let dashboard = config.admin.enabled().then(|| {
            let mut dashboard = http::Dashboard::new(public_url.scheme() == "https");
            dashboard.success = Some(Arc::new(http::ReportFigures {
                store: store.clone(),
            }));
            Arc::new(dashboard)
        });
        let accounts: Arc<dyn AccountStore> = store.clone();
        let state = AppState::new(SharedState {
            importer: services.importer.clone(),
            dashboard,
            config,
            token_reads: crate::token_reads::TokenReads::start(Arc::new(accounts.clone())),
            connect: store.clone(),
            host_api: store.clone(),
            accounts,
            admin: store.clone(),
            providers: services.providers.clone(),
            engine: services.engine.clone(),
            links: services.links.clone(),
            clock: services.clock.clone(),
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
            services,
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
        &self.services.engine
    }

    /// The parts the service is built from.
    pub fn services(&self) -> &Services {
        &self.services
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
        self.delivery = Some(self.services.mail(transport)?);
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
        let sweeps = self.services.engine.runs_finished();
        let mut supervisor = Supervisor::new(
            background.clone(),
            self.state.tasks.clone(),
            self.first_restart_pause,
        );
        if let Some((schedule, progress)) = self.state.readiness.scheduler.clone() {
            let engine = self
                .services
                .engine
                .clone()
                .with_shutdown(background.clone());
            let (store, clock) = (self.services.store.clone(), self.services.clock.clone());
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
                            () = crate::workers::run_outbox(delivery) => {}
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
                        () = crate::workers::run_outbox(webhooks) => {}
                        () = stop.cancelled() => {}
                    }
                }
            });
        }
        {
            let (store, clock) = (self.services.store.clone(), self.services.clock.clone());
            let every = config.connect.purge_interval;
            let stop = background.clone();
            supervisor.watch("connect purge", move || {
                let purge = ConnectPurger {
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
            let (store, clock) = (self.services.store.clone(), self.services.clock.clone());
            let latest = self.state.success_report.clone();
            let stop = background.clone();
            supervisor.watch("success report", move || {
                let gauges = ReportGauges {
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
        let rate_limit = http::PublicRateLimit::new(&config.http);
        {
            let (rate_limit, stop) = (rate_limit.clone(), background.clone());
            supervisor.watch(RATE_LIMIT_CLEANER_TASK, move || {
                let rate_limit = rate_limit.clone();
                let cleaner = RateLimitCleaner {
                    every: http::FORGET_IDLE_EVERY,
                    forget_idle_clients: Arc::new(move || rate_limit.forget_idle_clients()),
                };
                let stop = stop.clone();
                async move {
                    tokio::select! {
                        () = cleaner.run() => {}
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
        let served = http::serve(listeners, self.state, rate_limit, shutdown)
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
            self.services.engine.drain_demands(demands_grace),
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
