//! The embedded HTTP reverse proxy: routes by Host to app instances over pooled keep-alive
//! connections. Routes change in memory by an atomic swap; there is no config file and no reload.
//!
//! This is the only module that knows hyper.

mod forward;
mod headers;
mod metrics;
mod policy;
mod routes;
mod upgrade;

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use forward::{Inbound, Limits, Shared};
pub use metrics::{AppMetrics, Snapshot, LATENCY_BUCKETS};
pub use policy::{BasicAuth, IpNet, Policy};
pub use routes::{normalize_host, AppRoute, RouteStats, Routes};

/// What every listener shares: the routes, the pooled upstream client and the limits.
pub fn shared(
    routes: Arc<Routes>,
    limits: Limits,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) -> Arc<Shared> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build(connector);
    Arc::new(Shared {
        routes,
        client,
        limits,
        shutdown,
        tracker,
    })
}

/// Serves `listener` until shutdown, then lets in-flight requests finish (bounded).
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, peer) = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(error = %err, "proxy accept failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let inbound = Inbound {
            peer,
            port,
            tls: false,
        };
        let for_requests = shared.clone();
        let service = service_fn(move |request| {
            let shared = for_requests.clone();
            let span =
                tracing::debug_span!("request", peer = %inbound.peer, app = tracing::field::Empty);
            async move {
                Ok::<_, std::convert::Infallible>(forward::forward(&shared, inbound, request).await)
            }
            .instrument(span)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        shared.tracker.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "proxy connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("proxy connections still open after 30s; closing them");
    }
}

#[cfg(test)]
mod tests;
