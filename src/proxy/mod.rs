//! The embedded HTTP reverse proxy: routes by Host to app instances over pooled keep-alive
//! connections. Routes change in memory by an atomic swap; there is no config file and no reload.
//!
//! This is the only module that knows hyper.

mod forward;
mod headers;
mod metrics;
mod policy;
mod routes;
mod tls;
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
pub use tls::CertStore;

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

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until shutdown, then lets in-flight requests finish (bounded). With
/// `certs`, connections are TLS with the certificate their SNI names.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, certs: Option<Arc<CertStore>>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let acceptor = certs.map(|store| tokio_rustls::TlsAcceptor::from(tls::server_config(store)));
    let graceful = GracefulShutdown::new();
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
            tls: acceptor.is_some(),
        };
        let watcher = graceful.watcher();
        let for_connection = shared.clone();
        let acceptor = acceptor.clone();
        shared.tracker.spawn(async move {
            match acceptor {
                None => connection(stream, inbound, for_connection, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            connection(stream, inbound, for_connection, watcher).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
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

/// Serves one client connection (HTTP/1.1 with upgrades, or HTTP/2) until it closes.
async fn connection<I>(
    io: I,
    inbound: Inbound,
    shared: Arc<Shared>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let shared = shared.clone();
        let span =
            tracing::debug_span!("request", peer = %inbound.peer, app = tracing::field::Empty);
        async move {
            Ok::<_, std::convert::Infallible>(forward::forward(&shared, inbound, request).await)
        }
        .instrument(span)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(err) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(error = %err, "proxy connection ended with an error");
    }
}

#[cfg(test)]
mod tests;
