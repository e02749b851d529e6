//! Serving the routers on their listeners, with the limits a public server needs: a client
//! must send a request's head in time, holds a bounded share of the connections
//! (`connections.rs`), and on shutdown the requests in flight get a grace period, after which
//! every connection still open is closed, half-sent requests included.

use super::connections::ConnectionTable;
use super::rate_limit::PublicRateLimit;
use super::AppState;
use crate::config::HttpSettings;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The sockets the service answers on, bound before serving so their ports are known.
pub struct Listeners {
    /// Browsers, LinkedIn's redirects and the host app.
    pub public: TcpListener,
    /// `/metrics` alone, for a scraper on a private network (`http.metrics_bind`).
    pub metrics: Option<TcpListener>,
}

/// Serves until `shutdown` completes, then stops accepting, lets the requests in flight finish
/// for up to `http.shutdown_grace_seconds`, and closes what is left. `rate_limit` guards the
/// public routes; the caller keeps it small (`workers::RateLimitCleaner`).
pub async fn serve(
    listeners: Listeners,
    state: AppState,
    rate_limit: PublicRateLimit,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.config.http.clone();
    let stop = CancellationToken::new();
    let metrics_router = super::metrics_router(&state);
    let public = serve_listener(
        listeners.public,
        super::router(state, &rate_limit),
        &settings,
        stop.clone(),
    );
    let metrics = async {
        match listeners.metrics {
            Some(listener) => {
                serve_listener(listener, metrics_router, &settings, stop.clone()).await
            }
            None => Ok(()),
        }
    };
    let serving = async {
        let served = tokio::try_join!(public, metrics).map(|_| ());
        // One listener failing ends the other too.
        stop.cancel();
        served
    };
    // The signal is awaited beside the listeners, not in a task of its own: when they end
    // first, it is simply dropped.
    let signalled = async {
        tokio::select! {
            () = shutdown => stop.cancel(),
            () = stop.cancelled() => {}
        }
    };
    let (served, ()) = tokio::join!(serving, signalled);
    served
}

async fn serve_listener(
    listener: TcpListener,
    router: Router,
    settings: &HttpSettings,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout);
    // Bounds the sockets clients can hold open, so the database, LinkedIn and SMTP always
    // have file descriptors left, and one client cannot hold them all.
    let table = ConnectionTable::new(
        settings.max_connections,
        // Behind a proxy every peer is the proxy: the proxy must bound its clients itself.
        (!settings.trust_forwarded_for).then_some(settings.max_connections_per_client),
        stop.clone(),
    );
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, usually: wait for some to be freed rather
                    // than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Waits while every slot is busy: new clients then wait, accepted or in the backlog.
        let admitted = tokio::select! {
            () = stop.cancelled() => break,
            admitted = table.admit(peer.ip()) => admitted,
        };
        let Ok(slot) = admitted else {
            refuse(stream, peer);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let requests = slot.requests();
        let service = router
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                // The rate limit counts requests per client address.
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            })
            .map_future(move |answering| {
                let in_flight = requests.start();
                async move {
                    let answer = answering.await;
                    drop(in_flight);
                    answer
                }
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let close = slot.close_signal();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = close.cancelled() => {
                    // Closes an idle connection at once, a busy one after its answer.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            // Clients that vanish or stall past the header timeout end up here.
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    // Every connection was asked to close with `stop`; the busy ones get the grace period.
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(settings.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "closing the connections still open after http.shutdown_grace_seconds"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// What a connection over its client's share is told, in one write that never waits.
const REFUSAL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// Closes a connection over its client's share at once. A flood of them is counted, and
/// logged at debug level only, so it cannot fill the disk.
fn refuse(stream: TcpStream, peer: SocketAddr) {
    metrics::counter!("tokenkeeper_http_connections_refused_total").increment(1);
    tracing::debug!(%peer, "refused a connection: the client holds http.max_connections_per_client");
    // A client that does not read loses the answer, not the server's time.
    let _ = stream.try_write(REFUSAL);
}
